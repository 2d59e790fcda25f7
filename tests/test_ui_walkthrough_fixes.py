"""What a first walk through the app in the browser found, fixed in the UI layer: the leaderboard's vote count
in words, no empty plot frames on a board with nothing to draw, and the gallery calling a stopped or failed output
what its Compare pane called it."""

from __future__ import annotations

import time

import gradio as gr
import pytest

from arena.battles.votes import StoreVotes
from arena.store import OutputRecord, Store, new_id
from arena.ui.gallery import _card, _head
from arena.ui.leaderboard import ANY, LeaderboardView


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "data")
    yield store
    store.close()


def leaderboard(store: Store) -> LeaderboardView:
    view = LeaderboardView(store)
    with gr.Blocks():
        view.build()
    return view


def show(view: LeaderboardView) -> dict:
    return view.show("text", "people", ANY, ANY, ANY, "", "", False)


def test_one_vote_is_one_vote_not_one_votes(store):
    StoreVotes(store).add(battle_id="b1", kind="text", model_a="alpha", model_b="bravo", outcome="a", voter="v1")
    view = leaderboard(store)
    title = show(view)[view.people_table]
    assert "· 1 vote<" in title and "1 votes" not in title


def test_a_board_with_nothing_to_draw_shows_no_empty_plot(store):
    view = leaderboard(store)
    assert not view.people_plot.visible and not view.judge_plot.visible  # before the tab first opens
    updates = show(view)
    assert updates[view.people_plot].visible is False and updates[view.judge_plot].visible is False
    StoreVotes(store).add(battle_id="b1", kind="text", model_a="alpha", model_b="bravo", outcome="a", voter="v1")
    updates = show(view)
    assert updates[view.people_plot].visible is True and updates[view.people_plot].value is not None
    assert updates[view.judge_plot].visible is False  # no judge has voted


def test_an_empty_board_says_where_its_votes_come_from(store):
    view = leaderboard(store)
    assert "vote in the Battle tab" in show(view)[view.people_table]
    named = view.show("text", "named", ANY, ANY, ANY, "", "", False)[view.people_table]
    assert "“Pick the best…” under a comparison in the Compare tab" in named
    StoreVotes(store).add(battle_id="b1", kind="text", model_a="alpha", model_b="bravo", outcome="a", voter="v1")
    later = view.show("text", "people", ANY, ANY, ANY, "2999-01-01", "", False)[view.people_table]
    assert "No votes match these filters." in later and "Battle tab" not in later


def record(status: str, error: str | None = None) -> OutputRecord:
    return OutputRecord(
        id=new_id(), comparison_id=new_id(), created_at=time.time(), model="offline-pixtral", kind="transformers",
        output="text", status=status, prompt="a charming spider at work", input_image=None, text="part of an answer",
        error=error, images=[], thumb=None, entry={"name": "offline-pixtral"}, params={}, used={}, versions={},
        metrics={}, notices=[])


@pytest.mark.parametrize(("status", "word"), [("cancelled", "stopped"), ("error", "failed")])
def test_the_gallery_says_what_the_pane_said(status, word):
    stored = record(status, error="the server refused" if status == "error" else None)
    card = _card(stored, None)
    assert f"· {word}" in card and f"· {status}" not in card
    assert _head(stored).startswith(f"### offline\\-pixtral · {word}\n")


def test_a_done_output_has_no_status_word_on_its_card():
    assert "· done" not in _card(record("done"), None)
