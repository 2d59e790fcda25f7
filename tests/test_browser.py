"""End to end in a real headless Chromium (Debian's chromium, driven by playwright)."""

from __future__ import annotations

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.apprunner import environment, running_app, write_catalog
from tests.browser import needs_chromium
from tests.conftest import ARTIFACTS, LOOPBACK_KEY, OFFLINE_ENTRIES, ROOT, openai_entry
from tests.helpers import pick

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, loopback, offline_models):
    folder = tmp_path_factory.mktemp("browser-app")
    env = dict(OPENAI_API_KEY=LOOPBACK_KEY, ARENA_OFFLINE_MODELS=str(offline_models),
               ARENA_DATA_DIR=str(folder / "data"))
    catalog = write_catalog(folder / "catalog.yaml", OFFLINE_ENTRIES + [
        openai_entry(loopback, "loopback-echo", model="echo"),
        openai_entry(loopback, "loopback-slow", model="drip300"),
        openai_entry(loopback, "loopback-page", model="page"),
        openai_entry(loopback, "loopback-critic", model="critic"),
    ])
    suites = folder / "suites"
    suites.mkdir()
    (suites / "browser.yaml").write_text(SUITE)
    with environment(**env), running_app(catalog, "--suites-dir", str(suites)) as (url, engine):
        yield url


def open_page(browser, url):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    page.wait_for_selector("#arena-run")
    return page


def test_spider_prompt_with_an_image_fills_every_pane(browser, app_url):
    page = open_page(browser, app_url)
    page.fill("#arena-prompt textarea", "a charming spider at work")
    page.set_input_files("#arena-image input[type=file]", str(ROOT / "assets" / "scene.png"))
    page.wait_for_selector("#arena-image img")
    pick(page, "loopback-echo")
    page.click("#arena-run")
    page.wait_for_function(
        "document.querySelectorAll('.arena-pane-foot[data-status=done]').length === 4", timeout=90_000
    )
    panes = page.locator(".arena-pane:visible")
    assert panes.count() == 4
    heads = [panes.nth(i).locator(".arena-model").inner_text() for i in range(4)]
    assert heads == ["offline-pixtral", "offline-llama-vision", "offline-sd", "loopback-echo"]
    for index in (0, 1, 3):
        assert panes.nth(index).locator(".arena-text.prose").inner_text().strip()
        metrics = panes.nth(index).locator(".arena-metrics").first.inner_text()
        # The loopback echo can arrive in one network read: then there is no rate to show, only the count.
        assert "tok/s" in metrics if index < 3 else " tokens" in metrics
    assert "I got an image" in panes.nth(3).locator(".arena-text.prose").inner_text()
    picture = panes.nth(2).locator("img").first
    picture.wait_for()
    assert page.evaluate("(img) => img.complete && img.naturalWidth", picture.element_handle()) == 64
    assert "steps/s" in panes.nth(2).locator(".arena-metrics").first.inner_text()
    assert "random-weight offline model" in panes.nth(0).locator(".arena-kind").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "compare.png"), full_page=True)
    page.close()


def test_stop_button_cancels_a_running_model(browser, app_url):
    page = open_page(browser, app_url)
    page.fill("#arena-prompt textarea", "tell me a long story")
    for name in ("offline-pixtral", "offline-llama-vision", "offline-sd"):
        pick(page, name)  # unticks the offline models chosen by default
    pick(page, "loopback-slow")
    page.click("#arena-run")
    page.wait_for_function("document.querySelector('.arena-pane-foot[data-status=running] .arena-metrics')",
                           timeout=30_000)
    page.click("#arena-stop")
    page.wait_for_selector(".arena-pane-foot[data-status=cancelled]", timeout=5_000)
    assert page.locator(".arena-status-cancelled").inner_text() == "stopped"
    page.screenshot(path=str(ARTIFACTS / "stopped.png"), full_page=True)
    page.close()


def test_empty_prompt_shows_a_message(browser, app_url):
    page = open_page(browser, app_url)
    page.click("#arena-run")
    page.locator("#arena-message", has_text="Cannot run: Type a prompt first.").wait_for(timeout=10_000)
    page.close()


def test_a_file_that_is_not_an_image_gets_a_clear_message(browser, app_url, tmp_path):
    fake = tmp_path / "notes.png"
    fake.write_text("these are my notes, not a picture")
    page = open_page(browser, app_url)
    page.fill("#arena-prompt textarea", "what is this?")
    page.set_input_files("#arena-image input[type=file]", str(fake))
    page.locator("#arena-image-note", has_text="not an image Arena can read").wait_for(timeout=10_000)
    page.wait_for_timeout(500)  # let the toast slide in for the screenshot
    page.screenshot(path=str(ARTIFACTS / "not-an-image.png"))
    page.close()


def test_gallery_shows_outputs_after_a_comparison_and_filters_favourites(browser, app_url):
    page = open_page(browser, app_url)
    page.fill("#arena-prompt textarea", "a charming spider at work, for the gallery")
    page.click("#arena-run")
    page.wait_for_function(
        "document.querySelectorAll('.arena-pane-foot[data-status=done] .arena-saved').length === 3", timeout=90_000
    )
    page.get_by_role("tab", name="Gallery").click()
    page.wait_for_function("document.querySelectorAll('#gallery-grid [data-id]').length >= 3", timeout=15_000)
    page.fill("#gallery-words textarea, #gallery-words input", "gallery")
    page.press("#gallery-words textarea, #gallery-words input", "Enter")
    page.locator("#gallery-page-info", has_text="3 outputs ·").wait_for(timeout=10_000)
    page.get_by_role("radio", name="image").check()
    page.locator("#gallery-page-info", has_text="1 output ·").wait_for(timeout=10_000)
    page.locator("#gallery-grid img").first.click()
    page.locator("#gallery-record").wait_for(state="visible")
    assert "offline-sd" in page.locator("#gallery-record-head").inner_text()
    assert "for the gallery" in page.locator("#gallery-record-head").inner_text()
    page.click("#gallery-favourite")
    page.wait_for_function("document.querySelector('#gallery-favourite').innerText.includes('★')")
    page.click("#gallery-rerun")
    page.locator("#gallery-rerun-picture img").wait_for(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "gallery-rerun.png"), full_page=True)
    page.click("#gallery-record-close")  # the record lies over the page's right side, the filters among it
    page.get_by_role("radio", name="all").check()
    page.locator("#gallery-page-info", has_text="4 outputs ·").wait_for(timeout=10_000)  # the rerun joined them
    page.locator("#gallery-favourites input").check()
    page.locator("#gallery-page-info", has_text="1 output ·").wait_for(timeout=10_000)
    assert page.locator("#gallery-grid img").count() == 1
    page.screenshot(path=str(ARTIFACTS / "gallery.png"), full_page=True)
    page.close()


SUITE = """name: browser
version: 1
defaults: {seed: 4}
cases:
  - {id: greet, prompt: say hello, checks: [{contains: hello}]}
  - {id: sketch, prompt: Write the HTML for the website in this sketch., image: website-sketch.png,
     checks: [{regex: "<html"}]}
"""


def test_a_suite_runs_live_and_a_page_an_answer_wrote_is_previewed_in_a_sandbox(browser, app_url, loopback):
    page = open_page(browser, app_url)
    page.evaluate("() => { localStorage.setItem('arena-app', 'mine'); document.title = 'Arena app'; }")
    page.get_by_role("tab", name="Suites").click()
    page.wait_for_selector("#suite-models label")
    page.locator("#suite-file input").fill("browser.yaml")
    page.locator("#suite-file input").press("Enter")
    page.locator("#suite-info", has_text="2 cases").wait_for(timeout=10_000)
    for name in ("loopback-echo", "loopback-page"):
        page.locator("#suite-models label", has_text=f"{name} ·").click()
    page.click("#suite-run")
    page.wait_for_selector("#suite-progress [data-state=ended]", timeout=60_000)
    assert "4 of 4 cells · 0 errors" in page.locator("#suite-progress").inner_text()
    assert page.locator("#suite-matrix [data-cell]").count() == 4
    page.get_by_role("radio", name="errors").check()
    page.locator("#suite-matrix", has_text="no errors").wait_for(timeout=10_000)
    page.get_by_role("radio", name="all").check()
    page.wait_for_function("document.querySelectorAll('#suite-matrix [data-cell]').length === 4")

    page.locator("#suite-matrix [data-cell*='|sketch|loopback-page|']").click()
    frame = page.frame_locator("#suite-preview iframe").frame_locator("iframe")  # the page, in its inner frame
    frame.locator("#title").wait_for(timeout=15_000)
    assert frame.locator("#title").inner_text() == "My website"  # the page itself renders
    frame.locator("#verdict", has_text="fetch:").wait_for(timeout=10_000)
    assert frame.locator("#verdict").inner_text() == "parent:blocked storage:blocked cookie:blocked fetch:blocked"
    page.wait_for_timeout(500)
    assert not [seen.path for seen in loopback.requests if "leak" in seen.path]  # neither fetch nor <img>
    assert page.evaluate("() => [document.title, localStorage.getItem('arena-leak')]") == ["Arena app", None]
    assert page.locator("#suite-preview iframe").get_attribute("sandbox") == "allow-scripts"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "suites.png"), full_page=True)
    # Chromium leaves an opaque-origin frame blank in a full-page shot; the frame's own shot shows the page.
    page.locator("#suite-preview iframe").screenshot(path=str(ARTIFACTS / "suite-preview.png"))

    page.keyboard.press("Escape")  # the cell's detail lies over the page's right side, the report button among it
    page.locator("#suite-cell").wait_for(state="hidden", timeout=10_000)
    page.click("#suite-report")
    link = page.locator("#suite-download a").first
    link.wait_for(timeout=10_000)
    assert ".html" in (link.get_attribute("href") or "")
    page.close()


def test_a_two_turn_chat_then_describe_then_draw(browser, app_url, loopback):
    page = open_page(browser, app_url)
    page.fill("#arena-prompt textarea", "what is in this picture?")
    page.set_input_files("#arena-image input[type=file]", str(ROOT / "assets" / "scene.png"))
    page.wait_for_selector("#arena-image img")
    for name in ("offline-llama-vision", "offline-sd", "loopback-echo"):
        pick(page, name)  # leaves offline-pixtral and loopback-echo
    page.click("#arena-run")
    page.wait_for_function("document.querySelectorAll('.arena-pane-foot[data-status=done]').length === 2",
                           timeout=90_000)
    first_answer = page.locator("#arena-pane-1 .arena-text.prose").inner_text()
    page.fill("#arena-follow-up textarea", "and what colour is the roof?")
    page.click("#arena-send")
    echo_text = page.locator("#arena-pane-1 .arena-text.prose")
    echo_text.filter(has_text="and what colour is the roof?").wait_for(timeout=30_000)
    page.wait_for_function("document.querySelectorAll('.arena-pane-foot[data-status=done]').length === 2",
                           timeout=90_000)
    echo = page.locator("#arena-pane-1 .arena-text.prose").inner_text()
    assert "what is in this picture?" in echo and "You said: and what colour is the roof?" in echo
    sent = loopback.bodies(model="echo")[-1]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert sent[1]["content"].strip() in first_answer  # its own first answer came back to it
    page.locator("#arena-pane-0 .arena-again").wait_for(state="visible", timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)

    pick(page, "offline-sd")  # now: offline-pixtral, offline-sd, loopback-echo
    page.fill("#arena-prompt textarea", "a charming spider at work")
    page.click("#arena-describe-draw")
    page.wait_for_function("document.querySelectorAll('.arena-origin').length === 4", timeout=90_000)
    page.wait_for_function("document.querySelectorAll('.arena-pane-foot[data-status=done]').length === 4",
                           timeout=90_000)
    origins = page.locator(".arena-origin").all_inner_texts()
    assert origins.count("describing the picture") == 2
    assert sorted(o for o in origins if o.startswith("drawn")) == [
        "drawn from loopback-echo's description", "drawn from offline-pixtral's description"]
    # A picture's <img> comes once the browser has fetched the PNG its pane's last frame named.
    page.locator(".arena-pane:visible img").nth(1).wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "describe-draw.png"), full_page=True)

    page.locator("#arena-chains").click()  # open the Chains settings; critique with the loopback critic only
    page.locator("#arena-critics label", has_text="loopback-critic").wait_for()  # the open panel has its boxes
    only_critic = ("() => [...document.querySelectorAll('#arena-critics label')].every("
                   "l => l.querySelector('input').checked === l.innerText.includes('loopback-critic'))")
    for _ in range(5):  # the page's availability check may still be setting the default critics: tick again
        for label in page.locator("#arena-critics label").all():
            if label.locator("input").is_checked() != ("loopback-critic" in label.inner_text()):
                label.click()
        try:
            page.wait_for_function(only_critic, timeout=2_000)
            break
        except PlaywrightTimeout:
            continue
    assert page.evaluate(only_critic)
    drawn = page.locator(".arena-pane:visible", has=page.locator(".arena-origin", has_text="drawn from"))
    drawn.first.locator(".arena-chain").click()
    page.locator(".arena-origin", has_text="critique of offline-sd's picture").wait_for(timeout=30_000)
    critique = page.locator(".arena-pane:visible", has=page.locator(".arena-origin", has_text="critique of"))
    critique.locator("label", has_text="score 7/10 · loopback-critic").wait_for(timeout=30_000)
    sent = loopback.bodies(model="critic")[-1]["messages"][0]["content"]
    assert "Does this picture match the prompt" in sent[0]["text"] and sent[1]["type"] == "image_url"
    page.screenshot(path=str(ARTIFACTS / "critique.png"), full_page=True)

    page.get_by_role("tab", name="Gallery").click()
    page.fill("#gallery-words textarea, #gallery-words input", "Hello from echo")
    page.get_by_role("radio", name="image").check()
    page.locator("#gallery-page-info", has_text="1 output ·").wait_for(timeout=10_000)
    page.locator("#gallery-grid img").first.click()
    page.locator("#gallery-chain-box").wait_for(state="visible", timeout=10_000)
    assert page.locator("#gallery-chain [data-id]").count() == 2  # the description, then the picture drawn from it
    page.screenshot(path=str(ARTIFACTS / "gallery-chain.png"), full_page=True)
    page.close()
