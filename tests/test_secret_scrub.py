"""Issue 10, hole 3: a key held in a variable with a neutral name, echoed whole and in part by a careless server,
is found nowhere Arena writes or shows: the database and its WAL, exports, the suite report, CLI files and output,
logs, what the API hands a client, and the Compare page in Chromium."""

from __future__ import annotations

import json
import logging
import shutil
import zipfile
from pathlib import Path

import pytest
from gradio_client import Client

from arena import api_keys
from tests.apprunner import running_app, write_catalog
from tests.browser import CHROMIUM, launch
from tests.conftest import mistral_entry, openai_entry
from tests.helpers import arena
from tests.loopback import LoopbackServer

CANARY = "lbc-Zq7xK2mP9vR4tY8wN3bH6jL1"
FRAGMENTS = {CANARY[i:i + api_keys.FRAGMENT] for i in range(len(CANARY) - api_keys.FRAGMENT + 1)}


def leaks(text: str) -> list[str]:
    return sorted(f for f in FRAGMENTS if f in text)


def file_texts(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` as text (zip members opened), so a grep sees what a reader would."""
    seen = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        seen[str(path)] = data.decode("latin-1")
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    seen[f"{path}!{member}"] = archive.read(member).decode("latin-1")
    return seen


def assert_clean(where: dict[str, str]) -> None:
    found = {name: leaks(text) for name, text in where.items() if leaks(text)}
    assert not found, f"the canary key leaked into: {found}"


def test_scrubbing_covers_catalog_named_variables_env_files_and_fragments(tmp_path, monkeypatch):
    monkeypatch.setenv("LOOPBACK_CRED", CANARY)
    api_keys.treat_as_secret(["LOOPBACK_CRED"])
    (tmp_path / ".env").write_text("NEUTRAL_NAME=dotenv-value-0123456789\n")
    monkeypatch.delenv("NEUTRAL_NAME", raising=False)
    api_keys.load_env_files(tmp_path)
    clean = api_keys.scrub(f"key {CANARY}; half {CANARY[:14]}; middle {CANARY[6:17]}; dotenv-value-0123456789")
    assert leaks(clean) == [] and "dotenv-value" not in clean
    assert api_keys.scrub("short bits stay: lbc-Zq7") == "short bits stay: lbc-Zq7"


def page_after_a_run(url: str, models: list[str]) -> str:
    """The Compare page in Chromium after a run of ``models``: its DOM and its visible text."""
    if not shutil.which(CHROMIUM):
        return ""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.goto(url)
            page.wait_for_selector("#arena-run")
            page.fill("#arena-prompt textarea", "hello")
            for name in models:
                page.locator("#arena-models label", has_text=f"{name} ·").click()
            page.click("#arena-run")
            page.wait_for_function(f"document.querySelectorAll('.arena-pane-foot[data-status=error]').length === "
                                   f"{len(models)}", timeout=60_000)
            assert "HTTP 401" in page.inner_text("body")
            return page.content() + page.inner_text("body")
        finally:
            browser.close()


@pytest.fixture
def leaky_server():
    with LoopbackServer(api_key=CANARY) as server:
        yield server


@pytest.mark.timeout(300)
def test_a_canary_key_echoed_by_a_server_leaks_nowhere(tmp_path, monkeypatch, leaky_server, caplog):
    monkeypatch.setenv("LOOPBACK_CRED", CANARY)
    data = Path(tmp_path / "data")  # ARENA_DATA_DIR, set by conftest
    catalog = write_catalog(tmp_path / "catalog.yaml", [
        openai_entry(leaky_server, "leaky", model="echokey", api_key_env="LOOPBACK_CRED", max_retries=0),
        mistral_entry(leaky_server, "leaky-m", model="echokey", api_key_env="LOOPBACK_CRED", max_retries=0),
    ])
    seen: dict[str, str] = {}

    # The web app: what its API hands the page, and its database (WAL included) while it runs.
    caplog.set_level(logging.INFO)
    with running_app(catalog) as (url, _engine):
        result = Client(url, verbose=False).predict(prompt=f"hello {CANARY[:4]}", models=["leaky", "leaky-m"],
                                                    api_name="/compare")
        panes = {p["model"]: p for p in result["panes"]}
        assert panes["leaky"]["status"] == "error" and "HTTP 401" in panes["leaky"]["error"], panes
        assert "***" in panes["leaky"]["error"]
        seen["api result"] = json.dumps(result)
        seen["page DOM"] = page_after_a_run(url, ["leaky", "leaky-m"])
        seen |= file_texts(data)
    seen["app logs"] = caplog.text

    # The CLI: compare --out, a suite run, its report and JSON, gallery exports; their output too.
    env = {"LOOPBACK_CRED": CANARY, "ARENA_DATA_DIR": str(data)}
    out = tmp_path / "cli"
    compared = arena("--catalog", str(catalog), "compare", "hello", "--models", "leaky,leaky-m",
                     "--out", str(out / "compare"), env_extra=env)
    assert compared.returncode == 1 and "HTTP 401" in compared.stdout, compared.stderr
    suite = tmp_path / "suite.yaml"
    suite.write_text("name: leak\nversion: 1\ncases:\n  - {id: echo-key, prompt: hello}\n")
    ran = arena("--catalog", str(catalog), "suite", "run", str(suite), "--models", "leaky,leaky-m", env_extra=env)
    run_id = ran.stderr.split("run ", 1)[1].split(":", 1)[0]
    reported = arena("--catalog", str(catalog), "suite", "report", run_id, "--out", str(out / "report.html"),
                     "--json", str(out / "report.json"), env_extra=env)
    assert reported.returncode == 0, reported.stderr
    outputs = [compared, ran, reported]
    for fmt in ("html", "jsonl"):
        exported = arena("gallery", "export", "--format", fmt, "--out", str(out / f"gallery-{fmt}.zip"), env_extra=env)
        assert exported.returncode == 0, exported.stderr
        outputs.append(exported)
    shown = arena("gallery", "list", env_extra=env)
    assert "leaky" in shown.stdout
    outputs.append(shown)
    for number, done in enumerate(outputs):
        seen[f"cli output {number}"] = done.stdout + done.stderr
    seen |= file_texts(tmp_path)
    assert any(name.endswith("report.html") for name in seen) and any("-wal" in name for name in seen)
    assert_clean(seen)
