"""The Battle tab in a real headless Chromium: a blind battle between two loopback models, the vote, the reveal,
undo and the next battle, at desktop and phone width and in dark mode. Screenshots: test-artifacts/battle-*.png."""

from __future__ import annotations

import pytest

from tests.apprunner import loopback_app, picture_models
from tests.browser import needs_chromium
from tests.conftest import ARTIFACTS, openai_entry

pytestmark = needs_chromium

DESKTOP = {"width": 1440, "height": 1000}
PHONE = {"width": 390, "height": 844}
NAMES = ("alpha", "bravo")


@pytest.fixture(scope="module")
def app(tmp_path_factory, loopback):
    with loopback_app(tmp_path_factory.mktemp("browser-battle"), [
        openai_entry(loopback, "alpha", model="drip30-words14-browser-a"),
        openai_entry(loopback, "bravo", model="drip30-words9-browser-b"),
        *picture_models(loopback),
    ]) as (url, engine):
        yield url, engine


def open_battle(browser, url, viewport=DESKTOP, query=""):
    page = browser.new_page(viewport=viewport)
    page.goto(url + query)
    page.get_by_role("tab", name="Battle").click()
    page.wait_for_selector("#battle-start")
    page.wait_for_selector("#battle-models label")
    return page


def start(page, prompt="Tell me about spiders."):
    page.fill("#battle-prompt textarea", prompt)
    page.click("#battle-start")
    wait_votable(page)


def wait_votable(page, timeout=60_000):
    page.wait_for_function(
        "document.querySelectorAll('#battle-panes .arena-pane-foot[data-status=done]').length === 2 && "
        "!document.querySelector('#battle-vote-a').disabled", timeout=timeout)


def panes_text(page) -> str:
    return page.locator("#battle-panes").inner_text()


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"battle-{name}.png"), full_page=True)


def test_blind_battle_vote_reveal_undo_and_next(browser, app):
    url, engine = app
    page = open_battle(browser, url)
    assert page.locator("#battle-vote-a").is_disabled()  # nothing to vote on yet
    start(page)
    shown = panes_text(page)
    assert "Model A" in shown and "Model B" in shown
    assert not any(name in shown for name in NAMES) and not any(name in page.inner_text("#battle-message")
                                                                  for name in NAMES)
    assert page.locator("#battle-reveal").inner_text().strip() == ""
    shot(page, "desktop-before-vote")

    page.fill("#battle-reason textarea", "more detail")
    page.click("#battle-vote-a")
    page.locator("#battle-reveal", has_text="Model A was").wait_for()
    reveal = page.inner_text("#battle-reveal")
    assert "alpha" in reveal and "bravo" in reveal and "total" in reveal
    assert "alpha" in panes_text(page) and "bravo" in panes_text(page)
    assert page.locator("#battle-vote-b").is_disabled() and page.locator("#battle-undo").is_enabled()
    shot(page, "desktop-revealed")

    page.click("#battle-undo")
    page.locator("#battle-message", has_text="taken back").wait_for()
    page.wait_for_function("!document.querySelector('#battle-vote-b').disabled")

    page.click("#battle-next")
    page.wait_for_function("document.querySelector('#battle-reveal').innerText.trim() === ''")
    wait_votable(page)
    assert not any(name in panes_text(page) for name in NAMES)
    assert page.input_value("#battle-prompt textarea") == "Tell me about spiders."
    page.click("#battle-vote-tie")
    page.locator("#battle-reveal", has_text="Tie").wait_for()
    page.close()


def test_a_random_case_and_the_phone_and_dark_layouts(browser, app):
    url, _ = app
    page = open_battle(browser, url, PHONE)
    page.click("#battle-random")
    page.locator("#battle-case", has_text="from suite seed").wait_for()
    assert page.input_value("#battle-prompt textarea").strip()
    page.click("#battle-start")
    wait_votable(page)
    assert "Model A" in panes_text(page) and not any(name in panes_text(page) for name in NAMES)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1  # nothing sticks out sideways
    shot(page, "phone")
    page.close()

    page = open_battle(browser, url, DESKTOP, "?__theme=dark")
    start(page, "Say hello.")
    page.click("#battle-vote-b")
    page.locator("#battle-reveal", has_text="Model B was").wait_for()
    shot(page, "dark-revealed")
    page.close()


def test_an_image_battle_and_fewer_than_two_generators(browser, app):
    url, _ = app
    page = open_battle(browser, url)
    page.locator("#battle-kind label", has_text="Image generators").click()
    page.locator("#battle-models label", has_text="pic-one").wait_for()  # the text models had two labels too
    start(page, "a charming spider at work")
    assert page.locator("#battle-panes .arena-picture img").count() == 2
    assert not any(name in panes_text(page) for name in ("pic-one", "pic-two", "gpt-image"))
    shot(page, "desktop-images")
    page.locator("#battle-models label", has_text="pic-two").click()
    page.click("#battle-start")
    page.locator("#battle-message", has_text="A battle needs two image generators").wait_for()
    page.close()


def test_pick_the_best_under_a_comparison(browser, app):
    url, engine = app
    from arena.store.votes import VoteFilter, VoteStore

    page = browser.new_page(viewport=DESKTOP)
    page.goto(url)
    page.wait_for_selector("#arena-models label")
    for label in page.locator("#arena-models label").all():
        wanted = label.inner_text().split(" ·")[0] in NAMES
        if label.locator("input").is_checked() != wanted:
            label.click()
    page.fill("#arena-prompt textarea", "Which is best?")
    page.click("#arena-run")
    page.locator("#arena-message", has_text="Finished").wait_for(timeout=60_000)
    page.click("#pick-best-open")
    page.locator("#pick-best-choice label", has_text="All equally good").wait_for()
    page.locator("#pick-best-choice label", has_text="bravo").click()
    page.click("#pick-best-record")
    page.locator("#pick-best-message", has_text="Recorded 1 named vote").wait_for()
    [vote] = VoteStore(engine.store).rows(VoteFilter(voter_kind="people_named"))
    assert (vote.model_a, vote.model_b, vote.outcome) == ("bravo", "alpha", "a")
    shot(page, "pick-best")
    page.close()
