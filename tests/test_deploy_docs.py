"""The README and deploy/README name every setting the code reads, and deploy/README's commands hold together."""

from __future__ import annotations

import re

from arena.settings import ENVIRONMENT, MAX_UPLOAD_BYTES
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()
DEPLOY = (ROOT / "deploy" / "README.md").read_text()


def _settings_table() -> str:
    return README.split("\n## Settings\n", 1)[1].split("\n### ", 1)[0]


def test_every_setting_of_arena_settings_is_in_the_readme_settings_table():
    table = _settings_table()
    assert [name for name in ENVIRONMENT.values() if f"`{name}" not in table] == []


def test_every_arena_variable_the_code_reads_is_named_in_the_readme():
    code = "".join(path.read_text() for path in [ROOT / "app.py", *sorted((ROOT / "arena").rglob("*.py"))])
    read = set(re.findall(r"\bARENA_[A-Z0-9]+(?:_[A-Z0-9]+)*\b", code))
    assert sorted(name for name in read if name not in README) == []


def test_deploy_readme_sets_every_variable_its_commands_use():
    commands = DEPLOY.split("## Starting them", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    exported = set(re.findall(r"\b([A-Z][A-Z0-9_]*)=", commands))
    used = set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", commands))
    assert used - exported - {"PWD"} == set()  # the shell sets PWD itself


def test_deploy_readme_lists_what_replicas_share_and_nginx_takes_the_largest_upload():
    shared = DEPLOY.split("## What every replica must share", 1)[1].split("\n## ", 1)[0]
    for name in ("ARENA_SUITES_DIRS", "ARENA_MAX_UPLOAD_MB", "ARENA_SAVE_OUTPUTS", "HF_TOKEN", "ARENA_USERS_FILE",
                 "ARENA_VOTE_CAP_PER_DAY", "ARENA_S3_CACHE_MB", "ARENA_LOG_LEVEL"):
        assert name in shared
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    megabytes = int(re.search(r"client_max_body_size\s+(\d+)m;", nginx).group(1))
    assert megabytes * 1024 * 1024 > MAX_UPLOAD_BYTES
