"""The Compare tab's sweep in a real headless Chromium: axes set, run, the grid filled, both downloads offered."""

from __future__ import annotations

import pytest

from tests.apprunner import environment, running_app, write_catalog
from tests.browser import needs_chromium, open_panel
from tests.conftest import ARTIFACTS, OFFLINE_ENTRIES
from tests.helpers import pick

pytestmark = needs_chromium

SIZES = {"wide": {"width": 1440, "height": 1000}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, offline_models):
    folder = tmp_path_factory.mktemp("sweep-app")
    env = dict(ARENA_OFFLINE_MODELS=str(offline_models), ARENA_DATA_DIR=str(folder / "data"))
    catalog = write_catalog(folder / "catalog.yaml", OFFLINE_ENTRIES)
    with environment(**env), running_app(catalog) as (url, engine):
        yield url, engine


def set_axis(page, name: str, kind_label: str, values: str) -> None:
    page.click(f"#sweep-{name}-kind input")
    page.locator("ul[role=listbox] li", has_text=kind_label).first.click()
    page.fill(f"#sweep-{name}-values textarea", values)


def open_sweep(browser, url: str, untick: tuple[str, ...] = (), size: str = "wide", query: str = ""):
    """The Compare tab with the spider prompt typed, ``untick`` models unticked and the Sweep panel open."""
    page = browser.new_page(viewport=SIZES[size])
    page.goto(url + query)
    page.wait_for_selector("#arena-run")
    page.fill("#arena-prompt textarea", "a charming spider at work")
    for name in untick:
        pick(page, name)
    open_panel(page, "#sweep > button", "#sweep-run")
    return page


@pytest.mark.parametrize("look", ["wide", "phone", "dark"])
def test_a_sweep_fills_its_grid_and_offers_the_png_and_the_html(browser, app_url, look):
    url, engine = app_url
    # offline-llama-vision unticked: the sweep runs on offline-pixtral and offline-sd
    page = open_sweep(browser, url, ("offline-llama-vision",), size="phone" if look == "phone" else "wide",
                      query="/?__theme=dark" if look == "dark" else "")
    set_axis(page, "x", "Seed", "1, 2")
    set_axis(page, "y", "Steps", "1, 2")
    assert page.locator("#sweep-stop").is_disabled()  # nothing runs yet
    page.click("#sweep-run")
    page.locator("#sweep-progress", has_text="Sweep finished: 6 of 6 runs done").wait_for(timeout=120_000)
    page.wait_for_function("document.querySelector('#sweep-stop').disabled", timeout=10_000)
    assert "2 seed × 2 steps × 2 models = 8 cells" in page.locator("#sweep-progress").inner_text()
    cells = page.locator("#sweep-grid td")
    assert cells.count() == 8  # 2 seeds × 2 step counts × 2 models
    assert page.locator("#sweep-grid td img").count() == 4 and page.locator("#sweep-grid td .answer").count() == 4
    assert page.locator("#sweep-grid thead th").all_inner_texts()[1:] == ["seed 1", "seed 2"]
    assert page.locator("#sweep-grid td .cap").all_inner_texts().count("seed 1 · steps n/a") == 2
    picture = page.locator("#sweep-grid td img").first
    assert page.evaluate("(img) => img.complete && img.naturalWidth", picture.element_handle()) == 64
    for box, name in (("#sweep-png", "grid.png"), ("#sweep-html", "grid.html")):
        link = page.locator(f"{box} a").first
        link.wait_for(timeout=10_000)
        assert (link.get_attribute("href") or "").endswith(name)
    comparison = page.locator("#sweep-progress code").inner_text()
    from arena.store import Filter

    assert engine.store.query(Filter(comparison_id=comparison))[1] == 6
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#sweep").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"sweep-{look}.png"), full_page=True)
    page.close()


def test_a_bad_axis_is_said_in_a_sentence(browser, app_url):
    url, _ = app_url
    page = open_sweep(browser, url)
    set_axis(page, "x", "Steps", "1, zero")
    page.click("#sweep-run")
    page.locator("#sweep-progress", has_text="The steps axis: “zero” is not a whole number.").wait_for(
        timeout=10_000)
    page.close()


def test_a_third_axis_is_shown_one_block_at_a_time(browser, app_url):
    url, _ = app_url
    page = open_sweep(browser, url, ("offline-pixtral", "offline-llama-vision"))  # on offline-sd alone
    set_axis(page, "x", "Seed", "1, 2")
    set_axis(page, "z", "Steps", "1, 2")
    page.click("#sweep-run")
    page.locator("#sweep-progress", has_text="Set the Y axis before the Z axis").wait_for(timeout=10_000)
    set_axis(page, "y", "Guidance", "0")
    page.click("#sweep-run")
    page.locator("#sweep-progress", has_text="Sweep finished: 4 of 4 runs done").wait_for(timeout=120_000)
    assert page.locator("#sweep-z label").all_inner_texts() == ["steps 1", "steps 2"]
    assert page.locator("#sweep-grid td").count() == 2
    first = page.locator("#sweep-grid td img").first.get_attribute("src")
    page.locator("#sweep-z label", has_text="steps 2").click()
    page.wait_for_function("(src) => document.querySelector('#sweep-grid td img').src !== src", arg=first)
    assert page.locator("#sweep-grid td").count() == 2
    page.close()


def test_stop_sweep_is_on_while_it_runs_and_stops_it(browser, app_url):
    url, engine = app_url
    # the sweep runs on offline-sd alone, many steps a picture
    page = open_sweep(browser, url, ("offline-llama-vision", "offline-pixtral"))
    set_axis(page, "x", "Seed", "1, 2, 3")
    set_axis(page, "y", "Steps", "150, 200")
    page.click("#sweep-run")
    page.wait_for_function("!document.querySelector('#sweep-stop').disabled", timeout=30_000)
    page.click("#sweep-stop")
    page.locator("#sweep-progress", has_text="stopped").wait_for(timeout=120_000)
    assert "Sweep finished" in page.locator("#sweep-progress").inner_text()
    page.wait_for_function("document.querySelector('#sweep-stop').disabled", timeout=10_000)
    page.close()
