"""What a first walk through the app found, fixed in the UI layer: on a phone the Catalog's table broke its words a
letter a line, and "Pick the best…" was stretched into a grey block as tall as the list of answers beside it; an
empty gallery said "No outputs match." to someone who had set no filter; the Suites tab's Stop looked live while
nothing ran (and did nothing). Screenshots go to test-artifacts/walkthrough-*.png."""

from __future__ import annotations

import pytest

from arena.request import Request
from tests.apprunner import environment, running_app, write_catalog
from tests.browser import needs_chromium
from tests.conftest import ARTIFACTS, LOOPBACK_KEY, openai_entry

pytestmark = needs_chromium

PHONE = {"width": 390, "height": 844}

# How many lines each header cell's words take.
# Each cell of the catalog's first entry: its words, and the lines they take on the screen.
CELL_LINES = """() => [...document.querySelector('#arena-catalog-table tbody tr').querySelectorAll('td')].map(td => {
  const range = document.createRange(); range.selectNodeContents(td);
  const tops = [...range.getClientRects()].map(r => r.top).sort((a, b) => a - b);
  return [td.innerText, tops.filter((top, i) => i === 0 || top - tops[i - 1] > 8).length];  // padding: no line
})"""


@pytest.fixture(scope="module")
def app(tmp_path_factory, loopback):
    folder = tmp_path_factory.mktemp("walkthrough-app")
    catalog = write_catalog(folder / "catalog.yaml", [openai_entry(loopback, "echo-one", model="echo-walk-1"),
                                                      openai_entry(loopback, "echo-two", model="echo-walk-2"),
                                                      openai_entry(loopback, "slow-one", model="drip200-walk")])
    with environment(OPENAI_API_KEY=LOOPBACK_KEY, ARENA_DATA_DIR=str(folder / "data")), \
            running_app(catalog) as (url, engine):
        yield url, engine


def open_gallery(browser, url, viewport=PHONE):
    page = browser.new_page(viewport=viewport)
    page.goto(url)
    page.get_by_role("tab", name="Gallery").click()
    page.locator("#gallery-page-info", has_text="page 1 of").wait_for()
    return page


def test_an_empty_gallery_says_how_to_fill_it(app, browser):  # before any run of this module's app
    page = open_gallery(browser, app[0], {"width": 1440, "height": 1000})
    empty = page.locator("#gallery-grid .ga-empty")
    assert "Nothing kept yet" in empty.inner_text() and "Compare" in empty.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "walkthrough-gallery-empty.png"))
    page.close()


@pytest.mark.parametrize("query", ["", "?__theme=dark"])
def test_the_catalog_table_on_a_phone_keeps_its_words_whole(app, browser, query):
    page = browser.new_page(viewport=PHONE)
    page.goto(app[0] + query)
    page.locator("#arena-catalog").click()
    page.locator("#arena-catalog-table td").first.wait_for()
    cells = page.evaluate(CELL_LINES)  # on a phone an entry is a card of lines: model, kind, id, image in, status
    assert [text for text, _ in cells][:2] == ["echo-one", "OpenAI-compatible chat"]
    assert all(lines <= len(text.split()) for text, lines in cells), cells  # a line a word at most
    for card in page.locator("#arena-catalog-table tbody tr").all():
        box = card.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]  # nothing off the side of the screen
    page.locator("#arena-catalog-table").scroll_into_view_if_needed()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"walkthrough-catalog-phone{'-dark' if query else ''}.png"))
    page.close()


def test_pick_the_best_on_a_phone_keeps_its_buttons_their_own_height(app, browser):
    page = browser.new_page(viewport=PHONE)
    page.goto(app[0])
    page.locator("#arena-prompt textarea").fill("a charming spider at work")
    for name in ("echo-one", "echo-two"):
        page.locator("#arena-models label", has_text=f"{name} ·").locator("input").check()
    page.locator("#arena-run").click()
    page.locator("#arena-message", has_text="Finished").wait_for(timeout=60_000)
    page.locator("#pick-best-open").click()
    page.locator("#pick-best-choice label", has_text="echo-two").wait_for()
    choices = page.locator("#pick-best-choice").bounding_box()
    for button in ("#pick-best-open", "#pick-best-record"):
        height = page.locator(button).bounding_box()["height"]
        assert height < 60 < choices["height"], (button, height, choices["height"])
    page.locator("#pick-best").scroll_into_view_if_needed()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "walkthrough-pick-best-phone.png"))
    page.close()


def test_filters_that_let_nothing_through_still_say_so(app, browser):
    url, engine = app
    engine.start(Request("a charming spider at work"), ["echo-one"]).wait()
    page = open_gallery(browser, url)
    page.locator("#gallery-grid [data-id]").first.wait_for()
    page.locator("#gallery-words textarea, #gallery-words input").first.fill("zebra")
    page.locator("#gallery-show").click()
    page.locator("#gallery-page-info", has_text="0 outputs").wait_for()
    assert page.locator("#gallery-grid .ga-empty").inner_text() == "No outputs match."
    page.close()


def test_the_suites_stop_button_is_on_only_while_a_run_goes_on(app, browser):
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.goto(app[0])
    page.get_by_role("tab", name="Suites").click()
    box = page.locator("#suite-models label", has_text="slow-one ·")
    box.wait_for()
    assert page.locator("#suite-stop").is_disabled()  # nothing runs: a Stop that looked live did nothing
    box.click()
    page.locator("#suite-cache input").uncheck()
    page.click("#suite-run")
    page.wait_for_selector("#suite-progress [data-state=running]", timeout=30_000)
    page.wait_for_function("!document.querySelector('#suite-stop').disabled", timeout=10_000)
    page.click("#suite-stop")
    page.wait_for_selector("#suite-progress [data-state=ended]", timeout=60_000)
    assert "stopped" in page.locator("#suite-progress").inner_text()
    page.wait_for_function("document.querySelector('#suite-stop').disabled", timeout=10_000)
    page.close()
