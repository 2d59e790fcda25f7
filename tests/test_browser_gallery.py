"""The Gallery tab in Chromium: cards with the prompt and the model, text cards as selectable text, grouping by
comparison, a record beside the grid with words for its fields, no Share button, a contact sheet that keeps every
output; dark mode and a phone."""

from __future__ import annotations

import io
import re
import time

import pytest
from PIL import Image

from arena.request import Request
from arena.store import OutputRecord, new_id
from arena.store.export import CELL, LABEL, SHEET_COLUMNS
from tests.apprunner import environment, running_app, write_catalog
from tests.browser import needs_chromium
from tests.conftest import ARTIFACTS, LOOPBACK_KEY, openai_entry

FOX = "a red fox in the snow, painted twelve times with a different seed each time so the prompt runs long"
COLOURS = [(220, 20 * i, 250 - 18 * i) for i in range(12)]

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def app(tmp_path_factory, loopback):
    folder = tmp_path_factory.mktemp("gallery-app")
    env = dict(OPENAI_API_KEY=LOOPBACK_KEY, ARENA_DATA_DIR=str(folder / "data"))
    catalog = write_catalog(folder / "catalog.yaml", [openai_entry(loopback, "loopback-echo", model="echo"),
                                                      openai_entry(loopback, "loopback-rich", model="rich")])
    with environment(**env), running_app(catalog) as (url, engine):
        _twelve_foxes(engine.store)
        engine.start(Request("a charming spider at work, compared"), ["loopback-echo", "loopback-rich"]).wait()
        yield url, engine


def _twelve_foxes(store) -> None:
    """Twelve pictures of one model and prompt, each its own comparison and seed, oldest first."""
    base = time.time() - 3600
    for number, colour in enumerate(COLOURS):
        comparison = new_id()
        store.ensure_comparison(comparison, FOX, base + number)
        store.save(OutputRecord(
            id=new_id(), comparison_id=comparison, created_at=base + number, model="painter", kind="diffusers",
            output="image", status="done", prompt=FOX, input_image=None, text="", error=None, images=[], thumb=None,
            entry={"name": "painter", "kind": "diffusers", "model": "offline:stable-diffusion"},
            params={"seed": 100 + number}, used={"seed": 100 + number, "num_inference_steps": 4, "guidance_scale": 0.0},
            versions={"diffusers": "0.42.1"}, metrics={"total_s": 0.4, "steps": 4, "steps_per_s": 10.0, "ttft_s": 0.1},
            notices=[]), [Image.new("RGB", (64, 64), colour)])


def open_gallery(browser, url, width=1440, height=1000, query="", colour_scheme="light"):
    page = browser.new_page(viewport={"width": width, "height": height}, color_scheme=colour_scheme)
    page.goto(url + query)
    page.get_by_role("tab", name="Gallery").click()
    page.wait_for_function("document.querySelectorAll('#gallery-grid [data-id]').length >= 14", timeout=20_000)
    return page


def luminance(css_colour: str) -> float:
    numbers = [float(v) for v in re.findall(r"[\d.]+", css_colour.split("(", 1)[1])[:3]]
    red, green, blue = numbers if css_colour.startswith("color(") else [v / 255 for v in numbers]
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def share_buttons(page) -> int:
    return page.evaluate("""() => [...document.querySelectorAll('button, [role=button]')].filter(b =>
        /share/i.test((b.getAttribute('aria-label') || '') + ' ' + (b.title || ''))).length""")


def test_cards_a_record_beside_the_grid_grouping_and_a_full_contact_sheet(browser, app):
    url, engine = app
    ARTIFACTS.mkdir(exist_ok=True)
    page = open_gallery(browser, url)
    assert "14 outputs" in page.locator("#gallery-page-info").inner_text()
    echo = page.locator("#gallery-grid .ga-card", has_text="loopback-echo")
    text = echo.locator(".ga-body")
    assert "Hello from echo" in text.inner_text() and echo.locator("img").count() == 0  # real text, no picture
    selected = page.evaluate("""() => { const body = [...document.querySelectorAll('#gallery-grid .ga-body')]
        .find(b => b.innerText.includes('Hello from echo'));
        const range = document.createRange(); range.selectNodeContents(body);
        getSelection().removeAllRanges(); getSelection().addRange(range); return String(getSelection()); }""")
    assert selected.startswith("Hello from echo")
    page.evaluate("() => getSelection().removeAllRanges()")
    fox = page.locator("#gallery-grid .ga-card", has_text="painter").first
    prompt = fox.locator(".ga-prompt")
    assert prompt.inner_text() == FOX
    lines = page.evaluate("(p) => p.getBoundingClientRect().height / parseFloat(getComputedStyle(p).lineHeight)",
                          prompt.element_handle())
    assert 1.5 < lines <= 2.05  # two lines, clamped
    assert fox.locator(".ga-model").inner_text() == "painter"
    assert share_buttons(page) == 0
    page.screenshot(path=str(ARTIFACTS / "gallery-1440.png"), full_page=True)

    fox.click()
    panel = page.locator("#gallery-record")
    panel.wait_for(state="visible", timeout=10_000)
    page.locator("#gallery-output-picture img").wait_for(timeout=10_000)
    box = panel.bounding_box()
    assert box["y"] <= 1 and box["height"] >= 990 and box["x"] >= 1440 - 721  # beside the grid, in view
    details = page.locator("#gallery-record-details").inner_text()
    assert "Steps 4" in details and "Guidance 0" in details and "Seed 111" in details
    for hidden in ("num_inference_steps", "guidance_scale", "ttft", "First token", "Asked", "—"):
        assert hidden not in details.split("Full record")[0]
    assert share_buttons(page) == 0
    page.screenshot(path=str(ARTIFACTS / "gallery-record.png"))
    page.keyboard.press("Escape")  # closes it, as the Close button does
    panel.wait_for(state="hidden", timeout=10_000)

    page.locator("#gallery-group input").check()
    page.wait_for_function("document.querySelectorAll('#gallery-grid .ga-group').length === 13")
    spider = page.locator("#gallery-grid .ga-group", has_text="a charming spider at work, compared")
    assert spider.locator(".ga-card").count() == 2 and spider.locator("h4").count() == 1
    page.screenshot(path=str(ARTIFACTS / "gallery-grouped.png"), full_page=True)

    page.fill("#gallery-words textarea, #gallery-words input", "red fox")
    page.press("#gallery-words textarea, #gallery-words input", "Enter")
    page.locator("#gallery-page-info", has_text="12 outputs").wait_for(timeout=10_000)
    page.locator("#gallery-export-format input").click()
    page.get_by_role("option", name="contact sheet (PNG)").click()
    assert not page.locator("#gallery-download").is_visible()  # no empty download box before an export
    page.get_by_role("button", name="Export what the filters show").click()
    link = page.locator("#gallery-download a").first
    link.wait_for(timeout=20_000)
    sheet = Image.open(io.BytesIO(page.request.get(page.evaluate("(a) => a.href", link.element_handle())).body()))
    sheet = sheet.convert("RGB")
    assert sheet.size == (220 + SHEET_COLUMNS * CELL, 2 * (CELL + LABEL))
    seen = [sheet.getpixel((220 + (n % SHEET_COLUMNS) * CELL + CELL // 2, (n // SHEET_COLUMNS) * (CELL + LABEL)
                            + CELL // 2)) for n in range(12)]
    assert seen == COLOURS  # all twelve, oldest first, none dropped
    sheet.save(ARTIFACTS / "gallery-contact-sheet.png")
    page.close()


def test_dark_mode_cards_use_the_theme_colours(browser, app):
    url, _ = app
    page = open_gallery(browser, url, query="/?__theme=dark", colour_scheme="dark")
    card = page.locator("#gallery-grid .ga-card", has_text="loopback-echo")
    colours = page.evaluate("""(c) => [getComputedStyle(c).backgroundColor, getComputedStyle(c).color,
        getComputedStyle(c.querySelector('.ga-body')).backgroundColor]""", card.element_handle())
    assert luminance(colours[0]) < 0.3 and luminance(colours[2]) < 0.3 and luminance(colours[1]) > 0.7
    page.screenshot(path=str(ARTIFACTS / "gallery-dark.png"), full_page=True)
    card.click()
    page.locator("#gallery-record").wait_for(state="visible", timeout=10_000)
    page.locator("#gallery-record-text", has_text="Hello from echo").wait_for(timeout=10_000)
    details = page.locator("#gallery-record-details").inner_text()
    assert "First token" in details and "Steps" not in details.split("Full record")[0]
    page.screenshot(path=str(ARTIFACTS / "gallery-dark-record.png"))
    page.close()


def test_on_a_phone_cards_sit_two_abreast_and_a_record_fills_the_screen(browser, app):
    url, _ = app
    page = open_gallery(browser, url, width=390, height=844)
    lefts = page.evaluate("() => [...document.querySelectorAll('#gallery-grid .ga-card')].slice(0, 4)"
                          ".map(c => Math.round(c.getBoundingClientRect().left))")
    assert len(set(lefts)) == 2  # two columns
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390 + 1
    page.screenshot(path=str(ARTIFACTS / "gallery-phone.png"))
    page.locator("#gallery-grid .ga-card", has_text="painter").first.click()
    panel = page.locator("#gallery-record")
    panel.wait_for(state="visible", timeout=10_000)
    page.locator("#gallery-output-picture img").wait_for(timeout=10_000)
    box = panel.bounding_box()
    assert box["x"] <= 1 and box["width"] >= 388
    page.screenshot(path=str(ARTIFACTS / "gallery-phone-record.png"))
    page.close()
