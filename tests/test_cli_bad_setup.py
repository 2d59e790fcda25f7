"""A setting, a path or a port that cannot work is said in one line naming it, never a traceback: from the CLI and
from ``python app.py``."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.helpers import arena


@pytest.mark.parametrize("variable, value, says", [
    ("ARENA_MAX_UPLOAD_MB", "abc", "ARENA_MAX_UPLOAD_MB must be a number of megabytes, not 'abc'."),
    ("ARENA_VOTE_CAP_PER_DAY", "lots", "ARENA_VOTE_CAP_PER_DAY should be a valid integer"),
    ("ARENA_STORAGE", "S3", "ARENA_STORAGE should be 'local' or 's3' (got 'S3')"),
    ("ARENA_SAVE_OUTPUTS", "maybe", "ARENA_SAVE_OUTPUTS should be a valid boolean"),
])
def test_a_bad_environment_value_is_one_sentence_naming_the_variable(variable, value, says):
    result = arena("models", env_extra={variable: value})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"arena: {says}"), result.stderr


def test_paths_that_cannot_be_written_are_said_with_the_path(tmp_path):
    plain = tmp_path / "a-file"
    plain.write_text("not a folder")
    made = arena("--data-dir", str(plain), "gallery", "list")
    assert made.returncode == 1 and made.stderr == f"arena: cannot use {plain}: File exists\n"
    under_a_file = plain / "votes.jsonl"
    exported = arena("--data-dir", str(tmp_path / "data"), "battle", "export", "--out", str(under_a_file))
    assert exported.returncode == 1 and "Traceback" not in exported.stderr
    assert exported.stderr.startswith(f"arena: cannot use {plain}"), exported.stderr


@pytest.mark.parametrize("environment, argv, says", [
    ({"ARENA_PORT": "abc"}, [], "argument --port: a port is a whole number from 0 to 65535, not 'abc'"),
    ({}, ["--port", "99999"], "not '99999'"),
    ({"ARENA_STORAGE": "S3"}, [], "arena: ARENA_STORAGE should be 'local' or 's3'"),
    ({"ARENA_LOG_LEVEL": "bogus"}, [], "arena: ARENA_LOG_LEVEL should be one of DEBUG, INFO"),
])
def test_the_app_refuses_a_bad_port_or_setting_before_it_starts(environment, argv, says, tmp_path):
    import os

    env = {**os.environ, "ARENA_DATA_DIR": str(tmp_path / "data"), **environment}
    result = subprocess.run([sys.executable, "app.py", *argv], capture_output=True, text=True, cwd=ROOT, env=env,
                            timeout=120)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert says in result.stderr, result.stderr


def test_a_port_another_program_listens_on_is_said_before_the_app_is_built(tmp_path):
    import os
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        env = {**os.environ, "ARENA_DATA_DIR": str(tmp_path / "data")}
        result = subprocess.run([sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(port)],
                                capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert result.returncode == 1 and result.stderr == (
        f"arena: port {port} on 127.0.0.1 is in use by another program: stop it, or give another --port "
        "(ARENA_PORT)\n")


@pytest.mark.parametrize("argv, says", [
    (["suite", "run", "prompts/seed.yaml", "--models", "offline-sd", "--concurrency", "0"],
     "argument --concurrency: a whole number of cells, at least 1, not '0'"),
    (["suite", "run", "prompts/seed.yaml", "--models", "offline-sd", "--resume", "r1"],
     "arena: --resume runs the models the run started with: leave out --models"),
    (["suite", "report", "r1", "--no-html"], "arena: --no-html leaves nothing to write: add --json FILE"),
    (["suite", "runs", "--suite", "nosuch"], "arena: no runs of a suite named 'nosuch'"),
])
def test_suite_options_that_would_do_nothing_or_something_else_are_said(tmp_path, argv, says):
    result = arena("--data-dir", str(tmp_path / "data"), *argv)
    assert says in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_a_bad_flag_value_names_the_flag_as_typed(tmp_path):
    from arena.errors import InputError
    from arena.settings import Settings

    with pytest.raises(InputError, match="^--max-upload-mb should be greater than or equal to 1"):
        Settings.from_env(data_dir=str(tmp_path), max_upload_bytes=-1048576)
