"""What a command's process imports: only what the command uses. Optional backends of the store (PostgreSQL, S3),
local-model libraries, the web app and libraries no command needs stay out of `suite run` and `pull`."""

from __future__ import annotations

import re

from tests.apprunner import write_catalog
from tests.conftest import LOOPBACK_KEY
from tests.helpers import arena

NEVER = {"trio._core", "boto3", "botocore", "psycopg", "psycopg2", "sqlalchemy", "asyncpg", "torch", "transformers",
         "diffusers", "gradio"}


def imported(stderr: str) -> set[str]:
    """The modules ``python -X importtime`` reports, and their top-level packages (an import that fails at once,
    as ``import trio`` does for httpcore under the CLI, is reported too: hence trio._core)."""
    modules = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*([\w.]+)$", stderr, re.MULTILINE)
    return {module.split(".")[0] for module in modules} | set(modules)


def test_suite_run_imports_no_optional_library(tmp_path, loopback):
    catalog = write_catalog(tmp_path / "catalog.yaml", [
        {"name": "echo", "kind": "openai-chat", "model": "echo", "base_url": loopback.url + "/v1"}])
    suite = tmp_path / "suite.yaml"
    suite.write_text("name: s\nversion: 1\ncases:\n  - {id: one, prompt: say hello}\n")
    result = arena("--catalog", str(catalog), "--data-dir", str(tmp_path / "data"), "suite", "run", str(suite),
                   "--models", "echo", env_extra={"PYTHONPROFILEIMPORTTIME": "1", "OPENAI_API_KEY": LOOPBACK_KEY})
    assert result.returncode == 0, result.stderr[-2000:]
    modules = imported(result.stderr)
    assert "openai" in modules  # the command did run its model
    assert not modules & NEVER


def test_pull_imports_no_optional_library(tmp_path):
    catalog = write_catalog(tmp_path / "catalog.yaml", [
        {"name": "tiny", "kind": "transformers", "model": "HuggingFaceTB/not-in-this-cache"}])
    result = arena("--catalog", str(catalog), "--data-dir", str(tmp_path / "data"), "pull", "tiny",
                   env_extra={"PYTHONPROFILEIMPORTTIME": "1", "HF_HUB_OFFLINE": "1",
                              "HF_HUB_CACHE": str(tmp_path / "hf-cache")})
    assert result.returncode == 1 and "HF_HUB_OFFLINE" in result.stderr
    modules = imported(result.stderr)
    assert "huggingface_hub" in modules
    assert not modules & (NEVER | {"openai", "PIL"})  # no picture is read to pull weights
