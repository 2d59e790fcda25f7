"""The package: pyproject's console script is ``python -m arena``, ``arena serve`` is ``python app.py``, and one
module (arena/paths.py) knows where Arena's own files lie."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from importlib.metadata import EntryPoint

from packaging.requirements import Requirement

from tests.conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
# What the `arena` console script runs: pip's wrapper is this, with sys.argv[0] ending in "arena".
CONSOLE_SCRIPT = "import sys; from arena.cli import main; sys.argv[0] = 'arena'; sys.exit(main())"


def _run(*argv, timeout=120):
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, *argv], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=timeout)


def test_the_console_script_is_the_main_of_python_dash_m_arena():
    import arena.cli

    script = EntryPoint(name="arena", value=PYPROJECT["project"]["scripts"]["arena"], group="console_scripts")
    dunder_main = ast.parse((ROOT / "arena" / "__main__.py").read_text(encoding="utf-8"))
    [imported] = [node for node in ast.walk(dunder_main) if isinstance(node, ast.ImportFrom)]
    assert script.load() is arena.cli.main
    assert (imported.module, [alias.name for alias in imported.names]) == ("arena.cli", ["main"])


def test_dependencies_are_the_pins_of_requirements_txt():
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["dependencies"] == {"file": ["requirements.txt"]}
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    pins = [Requirement(line) for line in lines if line.strip() and not line.strip().startswith("#")]
    assert "torch" in {pin.name for pin in pins}


def test_arena_serve_has_the_options_of_app_py():
    app = _run("app.py", "--help")
    served = _run("-c", CONSOLE_SCRIPT, "serve", "--help")
    module = _run("-m", "arena", "serve", "--help")
    assert app.returncode == served.returncode == module.returncode == 0, served.stderr + module.stderr
    assert "--host" in app.stdout and "--suites-dir" in app.stdout
    assert served.stdout.startswith("usage: arena serve ")
    assert module.stdout.startswith("usage: python -m arena serve ")
    # The same options, word for word: only the program name (and how argparse wraps the usage around it) differs.
    assert _words(served.stdout, "arena serve") == _words(app.stdout, "app.py") == _words(module.stdout,
                                                                                          "python -m arena serve")


def test_arena_serve_passes_the_catalog_on_as_app_py_does(tmp_path):
    catalog = tmp_path / "broken.yaml"
    catalog.write_text("models: [{name: x, kind: no-such-kind}]\n", encoding="utf-8")
    app = _run("app.py", "--catalog", str(catalog), "--data-dir", str(tmp_path / "data"))
    served = _run("-c", CONSOLE_SCRIPT, "--catalog", str(catalog), "--data-dir", str(tmp_path / "data"), "serve")
    assert app.returncode == served.returncode != 0
    assert served.stderr.strip().splitlines()[-1] == app.stderr.strip().splitlines()[-1]
    assert served.stderr.strip().splitlines()[-1].startswith("arena: ")


def test_no_module_works_out_repo_paths_from_its_own_file():
    from arena import paths

    assert paths.DEFAULT_CATALOG.is_file() and paths.ASSETS.is_dir() and paths.PROMPTS.is_dir()
    finders = re.compile(r"__file__|\.parents\[|importlib\.resources")
    offenders = [str(path.relative_to(ROOT)) for path in sorted((ROOT / "arena").rglob("*.py"))
                 if path.name != "paths.py" and finders.search(path.read_text(encoding="utf-8"))]
    assert offenders == []


def _words(help_text: str, prog: str) -> list[str]:
    return help_text.replace(prog, "PROG").split()
