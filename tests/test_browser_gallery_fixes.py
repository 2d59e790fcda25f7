"""The Gallery tab in Chromium, where a new user looks: a filter's refusal under Show (on a phone too), what the
record's buttons did inside the record, "Deleted" that outlives the grid's refresh, a labelled text rerun, and
pager buttons that cannot be pressed at the ends."""

from __future__ import annotations

import time

import pytest
from PIL import Image

from arena.request import GenerationParams, Request
from arena.store import OutputRecord, new_id
from tests.apprunner import loopback_app
from tests.browser import needs_chromium, open_panel
from tests.conftest import ARTIFACTS, openai_entry

PICTURES = 24  # with a rerun of one and two answers: two pages of 24
DESK = {"width": 1440, "height": 1000}
PHONE = {"width": 390, "height": 844}

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def app(tmp_path_factory, loopback):
    with loopback_app(tmp_path_factory.mktemp("gallery-fixes-app"), [
            openai_entry(loopback, "loopback-echo", model="echo"),
            openai_entry(loopback, "loopback-keep", model="keep")]) as (url, engine):
        rerun_of = _pictures(engine.store)
        engine.start(Request("a charming spider at work", params=GenerationParams(seed=7)),
                     ["loopback-echo", "loopback-keep"]).wait()
        yield url, engine, rerun_of


def _pictures(store) -> str:
    """PICTURES pictures, the last one rerun once (the rerun is one more); the id of the one rerun."""
    base = time.time() - 3600
    records = []
    for number in range(PICTURES + 1):
        comparison = new_id()
        store.ensure_comparison(comparison, "a blue square", base + number)
        seed = min(number, PICTURES - 1)
        records.append(OutputRecord(
            id=new_id(), comparison_id=comparison, created_at=base + number, model="painter", kind="diffusers",
            output="image", status="done", prompt="a blue square", input_image=None, text="", error=None, images=[],
            thumb=None, entry={"name": "painter", "kind": "diffusers", "model": "offline:stable-diffusion"},
            params={"seed": seed}, used={"seed": seed}, versions={}, metrics={}, notices=[],
            rerun_of=records[-1].id if number == PICTURES else None))
        store.save(records[-1], [Image.new("RGB", (32, 32), (20, 40, 9 * number))])
    return records[-2].id


def open_gallery(browser, url, viewport=DESK, dark=False):
    page = browser.new_page(viewport=viewport, color_scheme="dark" if dark else "light")
    page.goto(url + ("/?__theme=dark" if dark else ""))
    page.get_by_role("tab", name="Gallery").click()
    page.locator("#gallery-page-info", has_text="page 1 of 2").wait_for(timeout=20_000)
    return page


def in_view(page, selector: str) -> bool:
    """The element's box lies on the screen as it is scrolled now."""
    box = page.locator(selector).bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= page.viewport_size["height"]


@pytest.mark.parametrize("viewport,name,dark", [(DESK, "desk", False), (PHONE, "phone", False),
                                                (PHONE, "phone-dark", True)])
def test_a_bad_date_is_refused_under_show_on_the_screen(browser, app, viewport, name, dark):
    page = open_gallery(browser, app[0], viewport, dark)
    open_panel(page, "#gallery-more-filters", "#gallery-more-filters input, #gallery-more-filters textarea")
    page.get_by_label("From (YYYY-MM-DD)").fill("yesterday")
    page.locator("#gallery-show").click()
    message = page.locator("#gallery-message", has_text="Cannot filter")
    message.wait_for(timeout=10_000)
    assert "dates look like" in message.inner_text() and "yesterday" in message.inner_text()
    page.wait_for_function("""() => { const box = document.querySelector('#gallery-message').getBoundingClientRect();
        return box.top >= 0 && box.bottom <= innerHeight; }""", timeout=10_000)
    show = page.locator("#gallery-show").bounding_box()
    said = message.bounding_box()
    assert 0 <= said["y"] - (show["y"] + show["height"]) < 60  # right under the Show button
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"gallery-fixes-baddate-{name}.png"))
    page.get_by_label("From (YYYY-MM-DD)").fill("")
    page.locator("#gallery-show").click()
    page.wait_for_function("() => !document.querySelector('#gallery-message').innerText.trim()", timeout=10_000)
    page.close()


@pytest.mark.parametrize("viewport,name,dark", [(DESK, "desk", False), (PHONE, "phone", False),
                                                (DESK, "dark", True)])
def test_the_pager_cannot_be_pressed_at_its_ends(browser, app, viewport, name, dark):
    page = open_gallery(browser, app[0], viewport, dark)
    newer, older = page.locator("#gallery-newer"), page.locator("#gallery-older")
    assert newer.is_disabled() and older.is_enabled()
    older.click()
    page.locator("#gallery-page-info", has_text="page 2 of 2").wait_for(timeout=10_000)
    page.wait_for_function("() => document.querySelector('#gallery-older').disabled", timeout=10_000)
    assert newer.is_enabled()
    looks = page.evaluate("""() => ['#gallery-newer', '#gallery-older'].map(s => {
        const style = getComputedStyle(document.querySelector(s)); return [style.opacity, style.cursor]; })""")
    assert looks[0] != looks[1]  # the one that cannot be pressed does not look like the one that can
    page.screenshot(path=str(ARTIFACTS / f"gallery-fixes-lastpage-{name}.png"))
    newer.click()
    page.locator("#gallery-page-info", has_text="page 1 of 2").wait_for(timeout=10_000)
    page.wait_for_function("() => document.querySelector('#gallery-newer').disabled", timeout=10_000)
    page.close()


def open_record(page, model: str):
    page.locator("#gallery-grid .ga-card", has_text=model).first.click()
    page.locator("#gallery-record").wait_for(state="visible", timeout=10_000)
    page.locator("#gallery-record-head", has_text=model).wait_for(timeout=10_000)


def said_in_record(page, text: str) -> None:
    """``text`` in the record's own message line, which lies inside the open record and on the screen."""
    page.locator("#gallery-record-message", has_text=text).wait_for(timeout=30_000)
    page.locator("#gallery-record-message").scroll_into_view_if_needed()
    panel, line = page.locator("#gallery-record").bounding_box(), page.locator("#gallery-record-message").bounding_box()
    assert panel["x"] <= line["x"] and line["x"] + line["width"] <= panel["x"] + panel["width"] + 1
    assert in_view(page, "#gallery-record-message")
    buttons = page.locator("#gallery-rerun").bounding_box()
    assert abs(line["y"] - buttons["y"]) < 250  # near the record's buttons


@pytest.mark.parametrize("viewport,name,dark", [(DESK, "desk", False), (PHONE, "phone", False),
                                                (DESK, "dark", True)])
def test_the_records_buttons_say_what_they_did_inside_it(browser, app, viewport, name, dark):
    page = open_gallery(browser, app[0], viewport, dark)
    open_record(page, "loopback-echo")
    page.locator("#gallery-note textarea").fill(f"seen on the {name}")
    page.locator("#gallery-save-note").click()
    said_in_record(page, "Note saved.")
    page.screenshot(path=str(ARTIFACTS / f"gallery-fixes-notesaved-{name}.png"))

    page.locator("#gallery-rerun").click()
    said_in_record(page, "Rerun done.")
    label = page.locator("#gallery-rerun-text .ga-rerun-label")
    assert label.inner_text().startswith("Rerun · loopback-echo · seed 7 · ")
    assert "Hello from echo" in page.locator("#gallery-rerun-text").inner_text()
    label.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"gallery-fixes-rerun-{name}.png"))
    page.close()


def test_a_picture_rerun_is_labelled_as_a_text_one_is(browser, app):
    url, _, rerun_of = app
    page = open_gallery(browser, url)
    page.locator(f'#gallery-grid [data-id="{rerun_of}"]').click()
    page.locator("#gallery-rerun-picture img").wait_for(timeout=10_000)
    assert f"Rerun · painter · seed {PICTURES - 1} · " in page.locator("#gallery-rerun-picture").inner_text()
    page.screenshot(path=str(ARTIFACTS / "gallery-fixes-rerun-picture-desk.png"))
    page.close()


def test_deleted_stays_said_after_the_grid_comes_back(browser, app):
    page = open_gallery(browser, app[0], PHONE)
    before = page.locator("#gallery-page-info").inner_text()
    count = int(before.split(" ")[0])
    open_record(page, "loopback-keep")
    page.locator("#gallery-delete").click()
    page.locator("#gallery-confirm-delete").click()
    page.locator("#gallery-record").wait_for(state="hidden", timeout=10_000)
    page.locator("#gallery-page-info", has_text=f"{count - 1} outputs").wait_for(timeout=10_000)
    message = page.locator("#gallery-message")
    page.wait_for_function("() => document.querySelector('#gallery-message').innerText.includes('Deleted')",
                           timeout=10_000)
    assert message.inner_text().strip() == "Deleted 1 output."
    assert in_view(page, "#gallery-message")
    assert page.locator("#gallery-grid .ga-card", has_text="loopback-keep").count() == 0
    page.screenshot(path=str(ARTIFACTS / "gallery-fixes-deleted-phone.png"))
    page.close()
