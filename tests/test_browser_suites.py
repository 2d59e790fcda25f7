"""The Suites tab in Chromium: run pickers that follow the runs, a cell's detail over the page with its input
image and each check's expectation, a diff between two answers, sort and search, dark mode, a phone, the report."""

from __future__ import annotations

import re

import pytest

from arena.suites.model import load_suite
from arena.suites.runner import SuiteRun
from tests.apprunner import environment, running_app, write_catalog
from tests.browser import needs_chromium
from tests.conftest import ARTIFACTS, LOOPBACK_KEY, openai_entry

MODELS = ("loopback-echo", "loopback-rich", "loopback-page")
LONG = "x" * 58
SUITE = f"""name: layout
version: 1
defaults: {{seed: 4}}
cases:
  - {{id: greet, prompt: say hello, checks: [{{contains: hello}}]}}
  - {{id: sketch, prompt: Write the HTML for the website in this sketch., image: website-sketch.png,
     checks: [{{regex: "<html"}}]}}
  - {{id: long-token, prompt: "{LONG}", checks: [{{not_contains: zebra}}]}}
"""

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def app(tmp_path_factory, loopback):
    folder = tmp_path_factory.mktemp("suites-app")
    suites = folder / "suites"
    suites.mkdir()
    (suites / "layout.yaml").write_text(SUITE)
    env = dict(OPENAI_API_KEY=LOOPBACK_KEY, ARENA_DATA_DIR=str(folder / "data"))
    catalog = write_catalog(folder / "catalog.yaml", [
        openai_entry(loopback, "loopback-echo", model="echo"),
        openai_entry(loopback, "loopback-rich", model="rich"),
        openai_entry(loopback, "loopback-page", model="page"),
    ])
    with environment(**env), running_app(catalog, "--suites-dir", str(suites)) as (url, engine):
        yield url, engine, suites / "layout.yaml"


def ensure_a_run(engine, path) -> None:
    """The page-driven test makes runs; a test run alone makes its own, through the library."""
    if engine.store.connection().execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0:
        SuiteRun(engine, load_suite(path), list(MODELS), source=str(path)).run()


def open_suites(browser, url, width=1440, height=1000, query="", colour_scheme="light"):
    page = browser.new_page(viewport={"width": width, "height": height}, color_scheme=colour_scheme)
    page.goto(url + query)
    page.get_by_role("tab", name="Suites").click()
    page.wait_for_selector("#suite-models label")
    return page


def choose(page, dropdown: str, option: str) -> None:
    page.locator(f"{dropdown} input").click()
    page.get_by_role("option", name=option).first.click()


def run_suite(page, path) -> None:
    page.locator("#suite-file input").fill(str(path))
    page.locator("#suite-file input").press("Enter")
    page.locator("#suite-info", has_text="3 cases").wait_for(timeout=10_000)
    for name in MODELS:
        box = page.locator("#suite-models label", has_text=f"{name} ·")
        if not box.locator("input").is_checked():
            box.click()
    page.click("#suite-run")
    page.wait_for_selector("#suite-progress [data-state=running]", timeout=30_000)
    page.wait_for_selector("#suite-progress [data-state=ended]", timeout=60_000)


def luminance(css_colour: str) -> float:
    """0 (black) to 1 (white), from rgb(…) or the color(srgb …) that color-mix() computes to."""
    numbers = [float(v) for v in re.findall(r"[\d.]+", css_colour.split("(", 1)[1])[:3]]
    red, green, blue = numbers if css_colour.startswith("color(") else [v / 255 for v in numbers]
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def test_pickers_follow_each_run_and_a_cell_opens_beside_the_click(browser, app):
    url, engine, path = app
    ARTIFACTS.mkdir(exist_ok=True)
    page = open_suites(browser, url)
    run_suite(page, path)
    assert "9 of 9 cells" in page.locator("#suite-progress").inner_text()
    page.locator("#suite-diff-box").click()  # open "Run A against run B"
    run_b = page.locator("#suite-run-b input")
    page.wait_for_function("(document.querySelector('#suite-run-b input')?.value ?? '').includes('finished')")
    first = run_b.input_value()
    assert "9 cells" in first and "running" not in first
    assert "finished · 9 cells" in page.locator("#suite-run-pick input").input_value()

    path.write_text(SUITE.replace("prompt: say hello,", "prompt: say hello to the spider,"))
    run_suite(page, path)  # a second run: both lists know both runs at once, no tab switch
    page.wait_for_function(f"(document.querySelector('#suite-run-b input')?.value ?? '') !== {first!r}"
                           " && (document.querySelector('#suite-run-b input')?.value ?? '').includes('finished')")
    assert page.locator("#suite-run-a input").input_value() == first
    page.locator("#suite-run-b input").click()
    assert page.get_by_role("option").count() == 2
    page.keyboard.press("Escape")
    page.click("#suite-diff-show")
    page.locator("#suite-changes", has_text="the case was edited").wait_for(timeout=10_000)
    echo_change = page.locator("#suite-changes tr", has_text="loopback-echo").filter(has_text="greet")
    echo_change.locator("summary", has_text="text diff").click()
    assert echo_change.locator("ins", has_text="spider").count() == 1  # the new words of run B's answer
    echo_change.screenshot(path=str(ARTIFACTS / "suites-run-diff.png"))

    # A cell far down the page opens its detail over the page, in view, with the input image and the pattern.
    page.locator("#suite-matrix").scroll_into_view_if_needed()
    cell = page.locator("#suite-matrix [data-cell*='|sketch|loopback-echo|']")
    cell.click()
    panel = page.locator("#suite-cell")
    panel.wait_for(state="visible", timeout=10_000)
    page.locator("#suite-cell-checks", has_text="no match").wait_for(timeout=10_000)
    box = panel.bounding_box()
    assert box["y"] <= 1 and box["height"] >= 990 and box["x"] >= 1440 - 641  # over the right side, in view
    checks = page.locator("#suite-cell-checks").inner_text()
    assert "<html" in checks and "pattern" in checks and "→ no match" in checks
    page.locator("#suite-cell-input img").wait_for(timeout=10_000)
    assert page.evaluate("() => document.querySelector('#suite-cell-input img').naturalWidth") > 0

    choose(page, "#suite-diff-with", "loopback-rich")
    page.locator("#suite-cell-diff .sx-diff").wait_for(timeout=10_000)
    assert page.locator("#suite-cell-diff del").count() and page.locator("#suite-cell-diff ins").count()
    assert "only in loopback-rich" in page.locator("#suite-cell-diff").inner_text()
    page.screenshot(path=str(ARTIFACTS / "suites-cell-overlay.png"))
    page.click("#suite-cell-close")
    panel.wait_for(state="hidden", timeout=10_000)

    rows = "() => [...document.querySelectorAll('#suite-matrix tr[data-case]')].map(r => r.dataset.case)"
    assert page.evaluate(rows) == ["greet", "sketch", "long-token"]
    choose(page, "#suite-sort", "case id")
    page.wait_for_function(f"() => JSON.stringify(({rows})()) === JSON.stringify(['greet', 'long-token', 'sketch'])")
    choose(page, "#suite-sort", "status (worst first)")
    page.wait_for_function(f"() => ({rows})()[2] === 'long-token'")  # failed checks first, all passed last
    page.locator("#suite-search input, #suite-search textarea").fill("website")
    page.locator("#suite-search input, #suite-search textarea").press("Enter")
    page.wait_for_function(f"() => JSON.stringify(({rows})()) === JSON.stringify(['sketch'])")
    page.locator("#suite-search input, #suite-search textarea").fill("")
    page.locator("#suite-search input, #suite-search textarea").press("Enter")
    page.wait_for_function(f"() => ({rows})().length === 3")
    page.screenshot(path=str(ARTIFACTS / "suites-1440.png"), full_page=True)
    page.close()


def test_dark_mode_matrix_uses_the_theme_colours(browser, app):
    url, engine, path = app
    ensure_a_run(engine, path)
    page = open_suites(browser, url, query="/?__theme=dark", colour_scheme="dark")
    page.wait_for_selector("#suite-matrix [data-cell]", timeout=15_000)
    case_colour = page.evaluate("() => getComputedStyle(document.querySelector('#suite-matrix .sx-case-id')).color")
    cells = page.evaluate("() => [...document.querySelectorAll('#suite-matrix .sx-cell')]"
                          ".map(c => getComputedStyle(c).backgroundColor)")
    assert luminance(case_colour) > 0.7  # light text on the dark page
    assert cells and max(luminance(c) for c in cells) < 0.35  # no glaring white or pink cells
    page.locator("#suite-matrix").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "suites-dark.png"), full_page=True)
    page.locator("#suite-matrix [data-cell*='|greet|loopback-echo|']").click()
    page.locator("#suite-cell").wait_for(state="visible", timeout=10_000)
    page.locator("#suite-cell-checks", has_text="→ found").wait_for(timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "suites-dark-cell.png"))
    page.close()


def test_on_a_phone_the_matrix_keeps_readable_columns_and_scrolls(browser, app):
    url, engine, path = app
    ensure_a_run(engine, path)
    page = open_suites(browser, url, width=390, height=844)
    page.wait_for_selector("#suite-matrix [data-cell]", timeout=15_000)
    widths = page.evaluate("() => [...document.querySelectorAll('#suite-matrix th')].map(th => th.offsetWidth)")
    assert len(widths) == 4 and min(widths) >= 150
    scroll = page.evaluate("() => { const s = document.querySelector('#suite-matrix .sx-scroll');"
                           " return [s.scrollWidth, s.clientWidth]; }")
    assert scroll[0] > scroll[1]  # the matrix scrolls sideways inside its box ...
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390 + 1  # ... not the page
    page.locator("#suite-matrix").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "suites-phone.png"))
    page.locator("#suite-matrix [data-cell*='|greet|loopback-echo|']").click()
    panel = page.locator("#suite-cell")
    panel.wait_for(state="visible", timeout=10_000)
    page.locator("#suite-cell-checks", has_text="→ found").wait_for(timeout=10_000)
    box = panel.bounding_box()
    assert box["x"] <= 1 and box["width"] >= 388  # the whole phone screen
    page.screenshot(path=str(ARTIFACTS / "suites-phone-cell.png"))
    page.close()


@pytest.mark.parametrize("width, scheme", [(1440, "light"), (390, "light"), (1440, "dark")])
def test_the_report_keeps_every_cell_inside_its_column(browser, app, width, scheme):
    url, engine, path = app
    ensure_a_run(engine, path)
    from arena.suites import report
    from arena.suites.results import load_matrix

    matrix = load_matrix(engine.store, engine.store.list_runs()[0].id)
    html = report.report_page(engine.store, matrix)
    page = browser.new_page(viewport={"width": width, "height": 1000}, color_scheme=scheme)
    page.set_content(html)
    overflow = page.evaluate("""() => [...document.querySelectorAll('.sx-matrix td')].flatMap(td => {
        const box = td.getBoundingClientRect();
        return [...td.querySelectorAll('.sx-cell, .sx-answer, summary')].filter(inner => {
          const b = inner.getBoundingClientRect();
          return b.right > box.right + 1 || inner.scrollWidth > inner.clientWidth + 1;
        }).map(inner => inner.className);
      })""")
    assert overflow == []
    widths = page.evaluate("() => [...document.querySelectorAll('.sx-matrix > tbody > tr > th')]"
                           ".map(th => th.offsetWidth)")
    assert min(widths) >= 150
    background = page.evaluate("() => getComputedStyle(document.querySelector('.sx-cell')).backgroundColor")
    assert (luminance(background) < 0.35) == (scheme == "dark")
    page.screenshot(path=str(ARTIFACTS / f"suite-report-{width}-{scheme}.png"), full_page=True)
    page.close()


def test_a_run_that_cannot_start_says_why_beside_its_button_until_the_suite_changes(browser, app):
    url, _, path = app
    page = open_suites(browser, url, width=390, height=844)
    page.locator("#suite-file input").fill(str(path))
    page.locator("#suite-file input").press("Enter")
    page.locator("#suite-info", has_text="3 cases").wait_for(timeout=10_000)
    for box in page.locator("#suite-models input[type=checkbox]").all():
        if box.is_checked():
            box.uncheck()
    page.click("#suite-run")
    message = page.locator("#suite-message", has_text="Cannot run the suite")
    message.wait_for(timeout=10_000)
    run_box, said = page.locator("#suite-run").bounding_box(), message.bounding_box()
    assert 0 < said["y"] - run_box["y"] < 250  # just under the Run button, not at the foot of the tab
    message.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "suites-cannot-run-phone.png"))
    before = page.locator("#suite-info").inner_text()
    page.locator("#suite-file input").click()
    page.get_by_role("option").filter(has_not_text="layout").first.click()  # another suite
    page.wait_for_function(f"document.querySelector('#suite-info').innerText !== {before!r}", timeout=10_000)
    page.locator("#suite-message", has_text="Cannot").wait_for(state="detached", timeout=10_000)
    assert page.locator("#suite-message").inner_text().strip() == ""  # the old sentence went with its suite
    page.close()


@pytest.mark.parametrize("typed", ["1000", "0", "-3"])
def test_cells_at_once_out_of_bounds_is_the_apps_own_sentence(browser, app, typed):
    url, engine, path = app
    runs_before = len(engine.store.list_runs())
    page = open_suites(browser, url)
    page.locator("#suite-file input").fill(str(path))
    page.locator("#suite-file input").press("Enter")
    page.locator("#suite-info", has_text="3 cases").wait_for(timeout=10_000)
    page.locator("#suite-models label", has_text="loopback-echo ·").click()
    page.fill("#suite-concurrency input", typed)
    page.click("#suite-run")
    page.locator("#suite-message", has_text="Cells at once must be a whole number from 1 to 32").wait_for(
        timeout=10_000)
    assert page.locator(".toast-body").count() == 0  # not Gradio's bare "Error"
    assert len(engine.store.list_runs()) == runs_before  # refused before a run was recorded
    page.close()
