"""The Leaderboard tab in Chromium: the people's and a judge's boards side by side, the too-few-votes notes, the
plot, filters, the image board, a refresh when the tab is opened again; desktop, dark mode and phone shots."""

from __future__ import annotations

import pytest

from arena.battles.votes import StoreVotes
from tests.apprunner import loopback_app
from tests.browser import needs_chromium
from tests.conftest import ARTIFACTS, openai_entry

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def app(tmp_path_factory, loopback):
    with loopback_app(tmp_path_factory.mktemp("leaderboard-app"), [
            openai_entry(loopback, "alpha", model="echo"), openai_entry(loopback, "bravo", model="echo")]) \
            as (url, engine):
        votes = StoreVotes(engine.store)
        battles = [("alpha", "bravo", "a")] * 9 + [("alpha", "bravo", "b")] * 3 + [("bravo", "charlie", "tie")] * 2 \
            + [("charlie", "bravo", "bothbad")] * 2 + [("alpha", "charlie", "a")] * 2
        for n, (a, b, outcome) in enumerate(battles):
            votes.add(battle_id=f"p{n}", kind="text", model_a=a, model_b=b, outcome=outcome, voter=f"v{n}",
                      suite="seed", case_tags=["ocr"] if n % 2 else [])
        votes.add(battle_id="leak", kind="text", model_a="alpha", model_b="bravo", outcome="b", voter="v99",
                  text_a="I am Llama.", text_b="hello")
        for n in range(12):
            votes.add(battle_id=f"j{n}", kind="text", model_a="alpha", model_b="bravo", outcome="b" if n < 8 else "a",
                      voter="judge-one", voter_kind="judge")
        for n in range(3):
            votes.add(battle_id=f"i{n}", kind="image", model_a="pic-one", model_b="pic-two", outcome="a",
                      voter=f"w{n}")
        yield url, engine


def open_leaderboard(browser, url, width=1440, height=1000, query="", colour_scheme="light"):
    page = browser.new_page(viewport={"width": width, "height": height}, color_scheme=colour_scheme)
    page.goto(url + query)
    page.locator("#leaderboard-tab-button, [role=tab]").first.wait_for(timeout=20_000)
    tab = page.get_by_role("tab", name="Leaderboard")
    if tab.is_visible():
        tab.click()
    else:  # a phone: the last tabs are under "More tabs"
        page.get_by_label("More tabs").click()
        page.locator(".overflow-dropdown").get_by_text("Leaderboard").click()
    page.locator("#leaderboard-people-table .lb-table").wait_for(timeout=20_000)
    page.locator("#leaderboard-people-plot img").wait_for(timeout=20_000)
    return page


def rows(page, board: str) -> list[str]:
    return [" ".join(text.split()) for text in page.locator(f"#leaderboard-{board}-table tbody tr").all_inner_texts()]


def test_people_and_judge_boards_side_by_side_with_notes_and_plots(app, browser):
    url, engine = app
    page = open_leaderboard(browser, url)
    people = rows(page, "people")
    assert [row.split()[1] for row in people] == ["alpha", "bravo", "charlie"]
    assert "too few votes (6 of the 10 needed)" in people[2]
    assert "18 votes" in page.locator("#leaderboard-people-table .lb-title").inner_text()  # the leak left out
    judge = rows(page, "judge")
    assert [row.split()[1] for row in judge] == ["bravo", "alpha"]
    assert "Judge: judge-one · 12 votes" in page.locator("#leaderboard-judge-table .lb-title").inner_text()
    people_box = page.locator("#leaderboard-people-board").bounding_box()
    judge_box = page.locator("#leaderboard-judge-board").bounding_box()
    assert judge_box["x"] >= people_box["x"] + people_box["width"] - 1 and abs(judge_box["y"] - people_box["y"]) < 5
    page.locator("#leaderboard-judge-plot img").wait_for(timeout=20_000)
    page.screenshot(path=str(ARTIFACTS / "leaderboard-desktop.png"), full_page=True)

    page.get_by_label("Count blind votes whose answers named a model or vendor").check()
    page.locator("#leaderboard-people-table .lb-title", has_text="19 votes").wait_for(timeout=10_000)
    page.locator("#leaderboard-kind label", has_text="Image generators").click()
    page.locator("#leaderboard-people-table tbody tr", has_text="pic-one").wait_for(timeout=10_000)
    assert "too few votes (3 of the 10 needed)" in rows(page, "people")[0]
    assert "No votes here yet." in page.locator("#leaderboard-judge-table").inner_text()

    page.locator("#leaderboard-kind label", has_text="Text models").click()
    page.locator("#leaderboard-people-table tbody tr", has_text="alpha").wait_for(timeout=10_000)
    page.locator("#leaderboard-since input, #leaderboard-since textarea").first.fill("yesterday")
    page.locator("#leaderboard-since input, #leaderboard-since textarea").first.press("Enter")
    page.locator("#leaderboard-message", has_text="dates look like 2026-11-01").wait_for(timeout=10_000)
    page.close()


def test_the_board_is_recomputed_when_the_tab_is_opened_again(app, browser):
    url, engine = app
    page = open_leaderboard(browser, url)
    before = page.locator("#leaderboard-people-table .lb-title").inner_text()
    StoreVotes(engine.store).add(battle_id="late", kind="text", model_a="alpha", model_b="delta", outcome="a",
                                 voter="late-voter")
    page.get_by_role("tab", name="Compare").click()
    page.get_by_role("tab", name="Leaderboard").click()
    page.locator("#leaderboard-people-table tbody tr td:nth-child(2)", has_text="delta").first.wait_for(timeout=10_000)
    assert before != page.locator("#leaderboard-people-table .lb-title").inner_text()
    page.close()


def test_dark_mode_and_phone(app, browser):
    url, _ = app
    page = open_leaderboard(browser, url, query="?__theme=dark", colour_scheme="dark")
    page.screenshot(path=str(ARTIFACTS / "leaderboard-dark.png"), full_page=True)
    page.close()
    page = open_leaderboard(browser, url, width=390, height=844)
    people = page.locator("#leaderboard-people-table").bounding_box()
    assert people["width"] <= 390
    page.screenshot(path=str(ARTIFACTS / "leaderboard-phone.png"), full_page=True)
    page.close()
