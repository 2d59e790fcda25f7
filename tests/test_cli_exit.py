"""The CLI ends its process without the interpreter's teardown, yet as sys.exit would: output flushed, exit
handlers run, and a thread still working waited for."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_buffered_output_and_exit_handlers_are_not_lost():
    result = _python(
        "import atexit, sys\n"
        "from arena.cli.common import exit_without_teardown\n"
        "atexit.register(lambda: print('handler ran'))\n"
        "print('kept', end='')\n"
        "sys.stderr.write('said')\n"
        "exit_without_teardown(3)\n"
        "print('never')\n"
    )
    assert (result.returncode, result.stdout, result.stderr) == (3, "kepthandler ran\n", "said")


def test_a_thread_still_working_is_waited_for():
    result = _python(
        "import threading\n"
        "from arena.cli.common import exit_without_teardown\n"
        "started, go = threading.Event(), threading.Event()\n"
        "def work():\n"
        "    started.set()\n"
        "    go.wait()\n"
        "    print('finished its work', flush=True)\n"
        "threading.Thread(target=work).start()\n"
        "started.wait()\n"
        "threading.Timer(0.05, go.set).start()\n"
        "exit_without_teardown(0)\n"
    )
    assert (result.returncode, result.stdout) == (0, "finished its work\n")


def test_python_dash_m_arena_ends_with_its_commands_exit_code(tmp_path):
    command = [sys.executable, "-m", "arena", "--data-dir", str(tmp_path), "suite", "show", "no-such-run"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.strip() == "arena: no suite run with id no-such-run"
