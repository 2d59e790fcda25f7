"""Downloads from the Catalog in a real headless Chromium, against the loopback Hugging Face Hub: a progress bar
with bytes, speed and time left, Cancel, Download again resuming, then a Run on the downloaded model."""

from __future__ import annotations

import pytest

from arena import hub
from tests.apprunner import running_app, write_catalog
from tests.browser import needs_chromium
from tests.conftest import ARTIFACTS
from tests.helpers import pick
from tests.hub import PADDING, REPOS, build_all, hub_environment, standard_hub

pytestmark = needs_chromium

CATALOG = [
    {"name": "smolvlm-tiny", "kind": "transformers", "model": REPOS["smolvlm-padded"],
     "params": {"max_tokens": 8}, "extra": {"min_new_tokens": 8}},
    {"name": "sd-tiny", "kind": "diffusers", "model": REPOS["sd-turbo"],
     "params": {"steps": 1, "guidance": 0.0, "width": 64, "height": 64}},
    {"name": "gated-vlm", "kind": "transformers", "model": "meta-llama/gated-tiny"},
    {"name": "huge-vlm", "kind": "transformers", "model": "huge/vlm-9000b"},
]
WIDE, PHONE = {"width": 1440, "height": 1000}, {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from huggingface_hub import constants

    repos = build_all(tmp_path_factory.getbasetemp() / "hub-repos")
    folder = tmp_path_factory.mktemp("downloads-app")
    catalog = write_catalog(folder / "catalog.yaml", CATALOG)
    with standard_hub(repos["smolvlm"].parent) as server, pytest.MonkeyPatch.context() as patch:
        cache = folder / "hf-cache"
        for name, value in hub_environment(server, cache).items():
            patch.setenv(name, value)
        patch.setenv("ARENA_DATA_DIR", str(folder / "data"))
        patch.delenv("HF_HUB_OFFLINE", raising=False)
        patch.delenv("HF_TOKEN", raising=False)
        patch.setattr(constants, "HF_HUB_OFFLINE", False)
        patch.setattr(constants, "HF_HUB_CACHE", str(cache))
        hub.forget()
        server.rate = 5_000_000  # 5 MB/s: the 25 MB model takes a few seconds, long enough to watch and Cancel
        with running_app(catalog) as (url, engine):
            yield url, engine, server
    hub.forget()


def open_catalog(browser, url: str, viewport: dict, dark: bool = False):
    page = browser.new_page(viewport=viewport)
    page.goto(url + ("/?__theme=dark" if dark else ""))
    page.wait_for_selector("#arena-run")
    page.locator("#arena-catalog").click()
    page.wait_for_selector("#arena-dl-row-smolvlm-tiny", state="visible")
    return page


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#arena-catalog").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"downloads-{name}.png"), full_page=False)


def test_cancel_mid_download_then_the_row_offers_to_resume(browser, app):
    url, engine, server = app
    page = open_catalog(browser, url, PHONE)
    row = page.locator("#arena-dl-row-smolvlm-tiny")
    assert "not downloaded: 25 MB to download" in row.inner_text()
    assert "gated: accept the licence on" in page.locator("#arena-dl-row-gated-vlm").inner_text()
    assert "will not fit: the weights need about" in page.locator("#arena-dl-row-huge-vlm").inner_text()
    assert not page.locator("#arena-dl-button-gated-vlm").is_visible()
    button = page.locator("#arena-dl-button-smolvlm-tiny")
    assert button.inner_text().strip() == "⬇ Download (25 MB)"
    button.click()
    page.wait_for_function("(document.querySelector('#arena-dl-row-smolvlm-tiny progress')?.value || 0) > 0.2",
                           timeout=30_000)
    assert " of 25 MB" in row.inner_text() and "/s" in row.inner_text() and " left" in row.inner_text()
    shot(page, "phone-progress")
    page.locator("#arena-dl-cancel-smolvlm-tiny").click()
    row.locator("text=Download again resumes").wait_for(timeout=30_000)
    assert page.locator("#arena-dl-button-smolvlm-tiny").inner_text().strip().startswith("⬇ Resume download")
    assert not page.locator("#arena-dl-cancel-smolvlm-tiny").is_visible()
    shot(page, "phone-cancelled")
    page.close()


def test_resumed_download_makes_the_model_available_and_it_runs(browser, app):
    url, engine, server = app
    page = open_catalog(browser, url, WIDE)
    assert page.locator("#arena-models label", has_text="smolvlm-tiny ·").count() == 0
    page.locator("#arena-dl-button-smolvlm-tiny").click()
    page.wait_for_function("(document.querySelector('#arena-dl-row-smolvlm-tiny progress')?.value || 0) > 0.3",
                           timeout=30_000)
    shot(page, "wide-progress")
    page.locator("#arena-dl-row-smolvlm-tiny", has_text="downloaded, 25 MB on disk").wait_for(timeout=60_000)
    ranges = [h.get("range") for p, h in server.downloads() if p.endswith(PADDING)]
    assert ranges[0] is None and ranges[-1] not in (None, "bytes=0-")  # went on from the cancelled bytes
    # Available without a restart: the model list offers it now.
    page.locator("#arena-models label", has_text="smolvlm-tiny ·").wait_for(timeout=30_000)
    shot(page, "wide-downloaded")
    page.fill("#arena-prompt textarea", "a charming spider at work")
    pick(page, "smolvlm-tiny")
    page.click("#arena-run")
    page.wait_for_function("document.querySelectorAll('.arena-pane-foot[data-status=done]').length === 1",
                           timeout=120_000)
    assert page.locator(".arena-pane:visible").count() == 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "downloads-wide-run.png"), full_page=False)
    page.close()


def test_dark_catalog_with_a_download_running(browser, app):
    url, engine, server = app
    page = open_catalog(browser, url, WIDE, dark=True)
    # The page shows the rows as the server started; the page load's check brings them up to date.
    page.locator("#arena-dl-row-smolvlm-tiny", has_text="downloaded, 25 MB on disk").wait_for(timeout=30_000)
    server.rate = 1_000_000  # slower, so the bar is seen moving
    page.locator("#arena-dl-button-sd-tiny").click()
    page.wait_for_function("(document.querySelector('#arena-dl-row-sd-tiny progress')?.value || 0) > 0",
                           timeout=30_000)
    shot(page, "dark-progress")
    page.locator("#arena-dl-row-sd-tiny", has_text="downloaded, 5 MB on disk").wait_for(timeout=60_000)
    page.locator("#arena-models label", has_text="sd-tiny ·").wait_for(timeout=30_000)
    server.rate = 5_000_000
    page.close()
