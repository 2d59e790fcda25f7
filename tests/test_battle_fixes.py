"""Unit checks behind tests/test_browser_battle_fixes.py: the leaderboard's sentence about flagged votes left out
(singular and plural, and only where they are left out), and which answers "Pick the best…" offers."""

from __future__ import annotations

from arena.battles.leaderboard import board, vote_filter
from arena.battles.votes import StoreVotes
from arena.pane import PaneSnapshot
from arena.store import Store
from arena.store.votes import VoteStore
from arena.ui.leaderboard import _flagged_left_out, board_html, left_out_sentence
from arena.ui.pick_best import pickable


def test_the_left_out_sentence_counts_in_words():
    assert left_out_sentence(0) == ""
    assert left_out_sentence(1) == ("1 vote left out because an answer named a model or vendor; tick “Count blind "
                                    "votes whose answers named a model or vendor” to count it.")
    assert left_out_sentence(2).startswith("2 votes left out") and left_out_sentence(2).endswith("to count them.")


def test_flagged_votes_left_out_are_counted_only_where_they_are_left_out(tmp_path):
    kept = Store(tmp_path / "store")
    votes = StoreVotes(kept)
    votes.add(battle_id="leak", kind="text", model_a="alpha", model_b="bravo", outcome="a", text_a="I am Llama.")
    store = VoteStore(kept)
    blind = vote_filter(kind="text")
    assert _flagged_left_out(store, blind) == 1
    assert _flagged_left_out(store, vote_filter(kind="text", include_leaks=True)) == 0
    assert _flagged_left_out(store, vote_filter(kind="image")) == 0
    assert _flagged_left_out(store, vote_filter(kind="text", voter="named")) == 0
    empty = board_html(board(kept, blind), "People, blind", 1)
    assert "1 vote left out" in empty and "No votes here yet" not in empty
    assert "No votes here yet" in board_html(board(kept, blind), "People, blind", 0)

    votes.add(battle_id="clean", kind="text", model_a="alpha", model_b="bravo", outcome="b", text_a="hi")
    shown = board_html(board(kept, blind), "People, blind", _flagged_left_out(store, blind))
    assert "People, blind · 1 vote" in shown and "lb-left-out" in shown and "to count it." in shown
    kept.close()


def pane(index: int, output: str, status: str = "done") -> PaneSnapshot:
    return PaneSnapshot(index=index, model=f"m{index}", kind="test", kind_label="", output=output, status=status,
                        activity="", text="", images=[], notices=[], error=None, used={}, ttft_s=None, total_s=None,
                        tokens=None, tokens_per_s=None, steps_done=0, steps_total=0, steps_per_s=None,
                        record_id=f"r{index}")


def test_pick_the_best_offers_answers_with_another_of_their_kind():
    panes = [pane(0, "image"), pane(1, "text"), pane(2, "text"), pane(3, "text", status="error")]
    assert [p.index for p in pickable(panes)] == [1, 2]
    assert pickable([pane(0, "image"), pane(1, "text")]) == []
    assert [p.index for p in pickable([pane(0, "image"), pane(1, "image")])] == [0, 1]
