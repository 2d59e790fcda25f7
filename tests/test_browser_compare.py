"""The Compare view in a real headless Chromium: what a first-time user does, at desktop and phone width and in
dark mode. Screenshots go to test-artifacts/compare-*.png."""

from __future__ import annotations

import re

import pytest

from tests.apprunner import environment, running_app, write_catalog
from tests.browser import needs_chromium, open_panel
from tests.conftest import ARTIFACTS, LOOPBACK_KEY, OFFLINE_ENTRIES, openai_entry

pytestmark = needs_chromium

DESKTOP = {"width": 1440, "height": 1000}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def app(tmp_path_factory, loopback, offline_models):
    folder = tmp_path_factory.mktemp("browser-compare")
    env = dict(OPENAI_API_KEY=LOOPBACK_KEY, ARENA_OFFLINE_MODELS=str(offline_models),
               ARENA_DATA_DIR=str(folder / "data"))
    catalog = write_catalog(folder / "catalog.yaml", OFFLINE_ENTRIES + [
        openai_entry(loopback, "echo-a", model="echo-browser-a"),
        openai_entry(loopback, "echo-b", model="echo-browser-b"),
        openai_entry(loopback, "echo-c", model="echo-browser-c"),
        openai_entry(loopback, "slow", model="drip150-browser"),
        openai_entry(loopback, "talker", model="stall-browser"),
        openai_entry(loopback, "silent", model="wait30000-browser", max_retries=0),
        {"name": "gone", "kind": "mistral-chat", "model": "mistral-medium-latest"},
    ])
    with environment(**env), running_app(catalog) as (url, engine):
        yield url, engine


def open_page(browser, url, viewport=DESKTOP, query=""):
    page = browser.new_page(viewport=viewport)
    page.goto(url + query)
    page.wait_for_selector("#arena-run")
    page.wait_for_selector("#arena-models label")
    return page


def choose(page, *names):
    """Tick exactly these models."""
    for label in page.locator("#arena-models label").all():
        wanted = any(label.inner_text().startswith(f"{name} ·") for name in names)
        if label.locator("input").is_checked() != wanted:
            label.click()


def wait_done(page, count, timeout=90_000):
    page.wait_for_function(
        f"document.querySelectorAll('.arena-pane-foot[data-status=done]').length === {count}", timeout=timeout)
    page.locator("#arena-message", has_text="Finished").wait_for(timeout=timeout)


def run_and_wait(page, count, timeout=90_000):
    """Click Run and wait for this run's panes: ``count`` of them done and kept, none of them an older run's."""
    old = page.locator(".arena-saved").all_inner_texts()
    page.click("#arena-run")
    page.wait_for_function(
        """([old, count]) => {
          const kept = [...document.querySelectorAll('.arena-pane-foot[data-status=done] .arena-saved')];
          return kept.filter((el) => !old.includes(el.innerText)).length === count;
        }""", arg=[old, count], timeout=timeout)
    page.locator("#arena-message", has_text="Finished").wait_for(timeout=timeout)


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"compare-{name}.png"), full_page=True)


def test_opening_parameters_never_blocks_run_and_only_typed_values_are_sent(browser, app, loopback):
    url, _ = app
    page = open_page(browser, url)
    assert page.get_attribute("#arena-prompt textarea", "placeholder").startswith("e.g. ")
    open_panel(page, "#arena-params > button", "#arena-seed")
    for field in ("max-tokens", "temperature", "seed", "steps", "guidance"):
        assert page.locator(f"#arena-{field} textarea, #arena-{field} input").input_value() == ""
    choose(page, "echo-a", "offline-sd")
    page.fill("#arena-prompt textarea", "a charming spider at work")
    run_and_wait(page, 2)
    sent = loopback.bodies(model="echo-browser-a")[-1]
    assert "seed" not in sent and "temperature" not in sent
    picture = page.locator(".arena-pane:visible", has=page.locator(".arena-model", has_text="offline-sd"))
    assert re.search(r"seed \d+", picture.locator(".arena-pane-foot").inner_text())  # a random seed, not 0
    shot(page, "params-empty")

    page.fill("#arena-temperature textarea, #arena-temperature input", "0.3")
    page.fill("#arena-seed textarea, #arena-seed input", "5")
    page.fill("#arena-steps textarea, #arena-steps input", "2")
    run_and_wait(page, 2)
    sent = loopback.bodies(model="echo-browser-a")[-1]
    assert sent["temperature"] == 0.3 and sent["seed"] == 5
    assert "seed 5" in picture.locator(".arena-pane-foot").inner_text()
    assert "2/2 steps" in picture.locator(".arena-pane-foot").inner_text()

    page.fill("#arena-max-tokens textarea, #arena-max-tokens input", "0")
    page.click("#arena-run")
    page.locator("#arena-message", has_text="Max tokens must be at least 1").wait_for(timeout=10_000)
    page.close()


def test_run_state_progress_line_and_stop_keeps_what_a_pane_had(browser, app):
    url, engine = app
    page = open_page(browser, url)
    assert page.locator("#arena-stop").is_disabled()
    page.locator("#arena-stop").click(force=True)  # nothing runs: nothing happens, nothing is said
    assert page.locator("#arena-message").inner_text().strip() == ""
    choose(page, "slow", "talker", "silent")
    page.fill("#arena-prompt textarea", "tell me a long story")
    page.click("#arena-run")
    page.wait_for_function("document.querySelector('#arena-run').disabled")
    assert not page.locator("#arena-stop").is_disabled()
    page.locator("#arena-message", has_text=re.compile(r"\d of 3 done · \d+\.\d s")).wait_for(timeout=10_000)
    talker = page.locator("#arena-pane-1")
    talker.locator(".arena-text.prose", has_text="Hello").wait_for(timeout=20_000)
    shot(page, "running")
    page.click("#arena-stop")
    page.locator("#arena-message", has_text="Finished: 3 stopped").wait_for(timeout=10_000)
    page.wait_for_function("!document.querySelector('#arena-run').disabled")
    assert page.locator("#arena-stop").is_disabled()
    assert "Hello" in talker.locator(".arena-text.prose").inner_text()  # the partial answer stays
    page.locator("#arena-pane-1 .arena-saved").wait_for(timeout=10_000)  # and is kept
    assert "silent" not in engine.store.models()  # stopped before a word: nothing kept
    shot(page, "stopped")
    page.close()


def test_a_file_that_is_not_an_image_is_refused_at_once_next_to_the_box(browser, app, tmp_path):
    url, _ = app
    fake = tmp_path / "notes.png"
    fake.write_text("these are my notes, not a picture")
    page = open_page(browser, url)
    page.set_input_files("#arena-image input[type=file]", str(fake))
    page.locator("#arena-image-note", has_text="not an image Arena can read").wait_for(timeout=10_000)
    assert page.locator("#arena-message").inner_text().strip() == ""  # said before any Run
    shot(page, "not-an-image")
    page.close()


def test_enter_sends_shift_enter_breaks_the_line_and_the_last_message_can_be_edited(browser, app, loopback):
    url, _ = app
    page = open_page(browser, url)
    choose(page, "echo-a", "echo-b")
    box = page.locator("#arena-prompt textarea")
    box.click()
    box.type("first line")
    box.press("Shift+Enter")
    box.type("second line")
    assert box.input_value() == "first line\nsecond line"
    assert page.locator(".arena-pane:visible").count() == 0
    box.press("Enter")
    wait_done(page, 2)
    assert box.input_value() == "first line\nsecond line"
    follow = page.locator("#arena-follow-up textarea")
    follow.click()
    follow.type("what colour?")
    follow.press("Shift+Enter")
    assert follow.input_value() == "what colour?\n"
    follow.press("Backspace")
    follow.press("Enter")
    page.locator("#arena-pane-0 .arena-text.prose", has_text="You said: what colour?").wait_for(timeout=30_000)
    wait_done(page, 2)

    page.click("#arena-edit")
    page.wait_for_function("document.querySelector('#arena-follow-up textarea').value === 'what colour?'")
    follow.fill("what shape?")
    follow.press("Enter")
    page.locator("#arena-pane-1 .arena-text.prose", has_text="You said: what shape?").wait_for(timeout=30_000)
    wait_done(page, 2)
    sent = loopback.bodies(model="echo-browser-b")[-1]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]  # the edited turn replaced the last one
    assert "what shape?" in str(sent[-1]["content"]) and "what colour?" not in str(sent)
    assert "what colour?" not in page.locator("#arena-pane-1 .arena-text.prose").inner_text()
    assert "Enter" in page.locator(".arena-hint").first.inner_text()
    shot(page, "edited")
    page.close()


def pane_boxes(page):
    """The visible panes' boxes in page coordinates, all read at one instant (the page may still be scrolling
    smoothly to the results, which moves viewport boxes between one read and the next)."""
    return page.evaluate("""() => [...document.querySelectorAll('.arena-pane')]
      .filter((pane) => pane.offsetParent !== null)
      .map((pane) => { const r = pane.getBoundingClientRect();
                       return {x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height}; })""")


def test_results_first_three_panes_in_three_columns_widen_and_scroll(browser, app):
    url, _ = app
    page = open_page(browser, url)
    unavailable = page.locator("#arena-unavailable")
    assert "unavailable now: gone" in unavailable.inner_text()
    assert unavailable.bounding_box()["height"] < 40  # one line
    choose(page, "echo-a", "echo-b", "echo-c")
    page.fill("#arena-prompt textarea", "a charming spider at work")
    page.click("#arena-run")
    wait_done(page, 3)
    boxes = pane_boxes(page)
    row = page.locator("#arena-panes").bounding_box()
    assert max(b["y"] for b in boxes) - min(b["y"] for b in boxes) < boxes[0]["height"] / 2  # one row
    assert boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"]  # three columns
    assert sum(b["width"] for b in boxes) > 0.95 * row["width"] - 30
    page.wait_for_function("window.scrollY > 100")  # Run scrolled to the results
    page.locator("#arena-pane-1 .arena-widen").click()
    page.wait_for_function("document.querySelector('#arena-pane-1').classList.contains('arena-wide')")
    assert page.locator("#arena-pane-1").bounding_box()["width"] > 0.95 * row["width"]
    shot(page, "widened")
    page.locator("#arena-pane-1 .arena-widen").click()
    page.close()


def test_phone_width_panes_scroll_sideways_and_dark_mode_uses_theme_colours(browser, app):
    url, _ = app
    page = open_page(browser, url, PHONE, "?__theme=dark")
    choose(page, "echo-a", "echo-b", "offline-sd")
    page.fill("#arena-prompt textarea", "a charming spider at work")
    page.click("#arena-run")
    wait_done(page, 3)
    row = page.locator("#arena-panes")
    assert row.evaluate("(el) => el.scrollWidth > el.clientWidth + 100")  # the row scrolls sideways
    assert all(b["width"] >= 280 for b in pane_boxes(page))
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")  # not the page
    badge = page.locator(".arena-status-done").first
    background = badge.evaluate("(el) => getComputedStyle(el).backgroundColor")
    assert background != "rgb(220, 252, 231)"  # not the light theme's pale green on a dark page
    page_colour = page.evaluate("getComputedStyle(document.body).backgroundColor")
    app_colour = page.evaluate("getComputedStyle(document.querySelector('gradio-app')).backgroundColor")
    assert page_colour == app_colour  # no white page behind the app, showing while it scrolls
    shot(page, "phone-dark")
    page.set_viewport_size(DESKTOP)
    shot(page, "desktop-dark")
    page.close()


def test_the_first_page_load_fetches_no_video_library(browser, app):
    url, _ = app
    page = browser.new_page(viewport=DESKTOP)
    page.goto(url)
    page.wait_for_selector("#arena-models label")
    # Gradio keeps its event stream open (never "network idle"): wait until no new file has come for a second.
    page.wait_for_function("""() => {
      const count = performance.getEntriesByType("resource").length;
      if (window.arenaSeen !== count) { window.arenaSeen = count; window.arenaSince = performance.now(); }
      return performance.now() - window.arenaSince > 1000;
    }""", polling=200)
    files = page.evaluate("""() => [...performance.getEntriesByType("navigation"),
                                     ...performance.getEntriesByType("resource")]
                                    .map((e) => [e.name, e.encodedBodySize || 0])""")
    total = sum(size for _, size in files)
    largest = sorted(files, key=lambda item: -item[1])[:5]
    print(f"first load: {len(files)} requests, {total / 1024:.0f} KiB; largest: {largest}")
    assert not [name for name, _ in files if re.search(r"/hls[-.][^/]*\.js", name)]
    page.close()


def test_on_a_phone_a_run_that_cannot_start_is_said_in_view_and_a_send_in_a_toast(browser, app):
    url, _ = app
    page = open_page(browser, url, PHONE)
    page.click("#arena-run")  # no prompt
    message = page.locator("#arena-message", has_text="Cannot run: Type a prompt first.")
    message.wait_for(timeout=10_000)
    # The click scrolls the line into view, and nothing lies over it (a toast covered it there before).
    page.wait_for_function("""() => {
      const box = document.querySelector('#arena-message').getBoundingClientRect();
      const top = document.elementFromPoint(box.left + 20, box.top + box.height / 2);
      return box.top >= 0 && box.bottom <= innerHeight && top && top.closest('#arena-message') !== null;
    }""", timeout=10_000)
    assert page.locator(".toast-body").count() == 0  # said once
    shot(page, "cannot-run-phone")
    page.click("#arena-send")  # nothing to follow up: said where the follow-up box is seen, in a toast
    page.locator(".toast-body", has_text="Start a conversation first").wait_for(timeout=10_000)
    page.close()


def test_a_cleared_pane_offers_nothing_to_draw_until_it_answers_again(browser, app):
    url, _ = app
    page = open_page(browser, url)
    choose(page, "echo-a")
    page.fill("#arena-prompt textarea", "a charming spider at work")
    run_and_wait(page, 1)
    pane = page.locator("#arena-pane-0")
    draw = pane.locator(".arena-chain")
    draw.wait_for(state="visible")
    pane.locator(".arena-clear").click()
    pane.locator(".arena-text.prose", has_text="Cleared").wait_for(timeout=10_000)
    draw.wait_for(state="hidden", timeout=10_000)  # the answer it would draw is no longer shown
    page.fill("#arena-follow-up textarea", "and now?")
    page.click("#arena-send")
    page.locator("#arena-message", has_text="Finished").wait_for(timeout=60_000)
    draw.wait_for(state="visible", timeout=10_000)  # a new answer: something to draw again
    page.close()


def test_describe_then_draw_says_which_list_lacks_a_model(browser, app):
    url, _ = app
    page = open_page(browser, url)
    page.fill("#arena-prompt textarea", "a charming spider at work")
    choose(page, "echo-a")
    page.click("#arena-describe-draw")
    page.locator("#arena-message", has_text="Tick an image generator in Models too").wait_for(timeout=10_000)
    choose(page, "offline-sd")
    page.click("#arena-describe-draw")
    page.locator("#arena-message", has_text="Tick a text model in Models too").wait_for(timeout=10_000)
    page.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_why_link_opens_the_catalog_where_each_reason_fits_the_screen(browser, app, viewport):
    url, _ = app
    page = open_page(browser, url, viewport)
    page.locator("#arena-unavailable a", has_text="why: see the Catalog").click()
    reason = page.locator("#arena-catalog-table td", has_text="MISTRAL_API_KEY is not set")
    reason.wait_for(state="visible", timeout=10_000)  # the link opened the closed accordion
    box = reason.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]  # not in a sideways-scrolled column
    page.wait_for_function("document.querySelector('#arena-catalog').getBoundingClientRect().top < innerHeight")
    page.locator("#arena-catalog").screenshot(path=str(ARTIFACTS / f"compare-catalog-why-{viewport['width']}.png"))
    page.close()
