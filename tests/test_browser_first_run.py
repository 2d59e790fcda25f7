"""The first-run guide: with no key, no local server and no weights downloaded, the Compare tab says the three ways
forward; its Download button pulls a small model from a (loopback) Hugging Face Hub with a progress bar, and the
model then runs. Screenshots go to test-artifacts/first-run-*.png (1440×1000, 390×844, dark)."""

from __future__ import annotations

import re
import shutil
import socket

import pytest

from arena.ui.first_run import nothing_real
from tests.apprunner import environment, running_app, write_catalog
from tests.browser import needs_chromium
from tests.conftest import ARTIFACTS, LOOPBACK_KEY, OFFLINE_ENTRIES, make_engine, openai_entry
from tests.hub import REPOS, build_all, hub_environment, standard_hub

DESKTOP = {"width": 1440, "height": 1000}
PHONE = {"width": 390, "height": 844}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def small_models() -> list[dict]:
    """The guide's two models, named as in the built-in catalog, pointing at the loopback hub's tiny ones."""
    return [
        {"name": "smolvlm-256m", "kind": "transformers", "model": REPOS["smolvlm"],
         "params": {"max_tokens": 8}, "extra": {"min_new_tokens": 8}},
        {"name": "sd-turbo", "kind": "diffusers", "model": REPOS["sd-turbo"],
         "params": {"steps": 1, "guidance": 0.0, "width": 64, "height": 64}},
    ]


def nothing_but_offline() -> list[dict]:
    return OFFLINE_ENTRIES + small_models() + [
        {"name": "mistral-small", "kind": "mistral-chat", "model": "mistral-small-latest"},  # no key set
        {"name": "ollama", "kind": "openai-chat", "discover": True, "api_key_env": None,
         "base_url": f"http://127.0.0.1:{closed_port()}/v1"},  # nothing answers
    ]


# --- when the guide shows ------------------------------------------------------------------------------------

def test_the_guide_is_for_a_machine_where_only_the_offline_models_run(loopback, monkeypatch):
    engine = make_engine(nothing_but_offline())
    try:
        assert nothing_real(engine)
        monkeypatch.setenv("MISTRAL_API_KEY", LOOPBACK_KEY)
        engine.availability.forget()
        assert not nothing_real(engine)  # a key is set
    finally:
        engine.close()
    keyless_server = openai_entry(loopback, "local-echo", model="echo", api_key_env=None)
    engine = make_engine(nothing_but_offline() + [keyless_server])
    try:
        assert not nothing_real(engine)  # a local server answers
    finally:
        engine.close()


# --- in the browser ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def app(tmp_path_factory, offline_models):
    from huggingface_hub import constants

    from arena import hub

    folder = tmp_path_factory.mktemp("browser-first-run")
    repos = build_all(tmp_path_factory.getbasetemp() / "hub-repos")
    with standard_hub(repos["smolvlm"].parent) as server, pytest.MonkeyPatch.context() as patch:
        cache = folder / "hf-cache"
        patch.delenv("HF_HUB_OFFLINE", raising=False)
        patch.setattr(constants, "HF_HUB_OFFLINE", False)
        patch.setattr(constants, "HF_HUB_CACHE", str(cache))
        hub.forget()
        env = dict(hub_environment(server, cache), ARENA_OFFLINE_MODELS=str(offline_models),
                   ARENA_DATA_DIR=str(folder / "data"))
        catalog = write_catalog(folder / "catalog.yaml", nothing_but_offline())
        with environment(**env), running_app(catalog) as (url, engine):
            yield url, engine, server, cache
        hub.forget()


def open_page(browser, url, viewport=DESKTOP, query=""):
    page = browser.new_page(viewport=viewport)
    page.goto(url + query)
    page.wait_for_selector("#arena-run")
    page.wait_for_selector("#arena-models label")
    return page


def shot(page, name, full_page=False):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"first-run-{name}.png"), full_page=full_page)


@needs_chromium
def test_the_guide_shows_the_three_ways_forward(browser, app):
    url, _, _, _ = app
    for name, viewport, query in (("desktop", DESKTOP, ""), ("phone", PHONE, ""), ("dark", DESKTOP, "?__theme=dark")):
        page = open_page(browser, url, viewport, query)
        guide = page.locator("#arena-first-run")
        guide.wait_for()
        text = guide.inner_text()
        assert "Nothing real to compare yet" in text and "noise" in text
        assert "MISTRAL_API_KEY" in text and ".env" in text and "ollama pull llama3.2-vision" in text
        smol, sd = page.locator("#arena-first-run-smolvlm-256m"), page.locator("#arena-first-run-sd-turbo")
        assert re.search(r"Download SmolVLM-tiny \(\d", smol.inner_text()), smol.inner_text()
        assert re.search(r"Download sd-turbo-tiny \(\d", sd.inner_text()), sd.inner_text()
        box = guide.bounding_box()
        assert box["width"] <= viewport["width"] and box["height"] < viewport["height"] * 0.6  # one short box
        shot(page, name)
        page.close()


@needs_chromium
def test_download_shows_progress_then_the_model_runs(browser, app):
    url, _, server, _ = app
    page = open_page(browser, url)
    server.rate = 400_000  # bytes a second: slow enough to watch the bar move
    try:
        page.click("#arena-first-run-smolvlm-256m")
        page.locator("#arena-first-run-progress progress").wait_for()
        page.locator("#arena-first-run-progress", has_text=" of ").wait_for()
        page.locator("#arena-first-run-cancel").wait_for()
        shot(page, "downloading")
    finally:
        server.rate = None
    # When it ends the entry is available without a restart, and the guide steps aside.
    page.locator("#arena-models label", has_text="smolvlm-256m ·").wait_for(timeout=120_000)
    page.locator("#arena-first-run").wait_for(state="hidden")
    for label in page.locator("#arena-models label").all():
        wanted = label.inner_text().startswith("smolvlm-256m ·")
        if label.locator("input").is_checked() != wanted:
            label.click()
    page.fill("#arena-prompt textarea", "What is in the picture?")
    page.click("#arena-run")
    page.wait_for_function("document.querySelectorAll('.arena-pane-foot[data-status=done]').length === 1",
                           timeout=120_000)
    shot(page, "downloaded-and-run", full_page=True)
    assert any("/resolve/" in path for path, _ in server.downloads(REPOS["smolvlm"]))
    page.close()


@needs_chromium
def test_a_download_from_the_catalog_also_puts_the_guide_away(browser, app):
    from arena import hub

    url, engine, _, cache = app
    for folder in cache.glob("models--*SmolVLM*"):  # back to a machine with nothing real
        shutil.rmtree(folder)
    hub.forget()
    engine.availability.forget()
    page = open_page(browser, url)
    page.locator("#arena-first-run").wait_for()
    page.click("#arena-catalog")  # the Catalog accordion, at the foot of the page
    page.click("#arena-dl-button-sd-turbo")
    page.locator("#arena-models label", has_text="sd-turbo ·").wait_for(timeout=120_000)
    page.locator("#arena-first-run").wait_for(state="hidden")
    page.close()
