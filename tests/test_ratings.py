"""Bradley–Terry ratings: known strengths recovered, the 75 % pair, intervals, seeds, and the edge cases."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from arena.battles.ratings import leaderboard


def drawn_votes(strengths: dict[str, float], count: int, seed: int = 1, ties: float = 0.1) -> list[tuple]:
    """(model_a, model_b, outcome, n) rows of ``count`` votes drawn from Bradley–Terry ``strengths``."""
    rng = np.random.default_rng(seed)
    names = list(strengths)
    power = np.array([strengths[n] for n in names])
    a = rng.integers(0, len(names), count)
    b = (a + rng.integers(1, len(names), count)) % len(names)
    p_a = 1 / (1 + 10 ** ((power[b] - power[a]) / 400))
    tie = rng.random(count) < ties
    a_won = rng.random(count) < p_a
    outcome = np.where(tie, "tie", np.where(a_won, "a", "b"))
    counted = Counter(zip(a.tolist(), b.tolist(), outcome.tolist(), strict=True))
    return [(names[i], names[j], o, n) for (i, j, o), n in counted.items()]


def test_known_strengths_give_the_same_order():
    strengths = {"ant": 800, "bee": 900, "cat": 1000, "dog": 1100, "elk": 1250}
    table = leaderboard(drawn_votes(strengths, 6000, ties=0), rounds=20)
    assert table.models == ["elk", "dog", "cat", "bee", "ant"]
    fitted = {row.model: row.rating for row in table.rows}
    assert fitted["elk"] - fitted["ant"] == pytest.approx(450, abs=60)
    assert all(not row.too_few for row in table.rows)
    assert [row.rank for row in table.rows] == [1, 2, 3, 4, 5]


def test_a_pair_won_three_to_one_is_400_log10_3_apart():
    table = leaderboard([("A", "B", "a", 750), ("A", "B", "b", 250)], rounds=10)
    a, b = table.rows
    assert (a.model, b.model) == ("A", "B")
    assert a.rating - b.rating == pytest.approx(400 * math.log10(3), abs=1)
    assert (a.rating + b.rating) / 2 == pytest.approx(1000)
    assert a.votes == b.votes == 1000 and a.win_rate == 0.75 and b.wins == 250


def test_intervals_shrink_as_votes_grow_and_the_seed_fixes_them():
    strengths = {"x": 950, "y": 1000, "z": 1080}
    small = leaderboard(drawn_votes(strengths, 300), seed=4)
    large = leaderboard(drawn_votes(strengths, 30000), seed=4)
    for name in strengths:
        narrow = next(r for r in large.rows if r.model == name)
        wide = next(r for r in small.rows if r.model == name)
        assert narrow.upper - narrow.lower < (wide.upper - wide.lower) / 3
        assert narrow.lower <= narrow.rating <= narrow.upper
    again = leaderboard(drawn_votes(strengths, 300), seed=4)
    assert [(r.lower, r.upper) for r in again.rows] == [(r.lower, r.upper) for r in small.rows]
    other = leaderboard(drawn_votes(strengths, 300), seed=5)
    assert [(r.lower, r.upper) for r in other.rows] != [(r.lower, r.upper) for r in small.rows]


def test_no_votes_gives_an_empty_board():
    table = leaderboard([])
    assert table.rows == [] and table.votes == 0 and table.win_rates.shape == (0, 0)


def test_one_model_without_votes_is_listed_unranked():
    table = leaderboard([], models=["solo"])
    (row,) = table.rows
    assert row.model == "solo" and row.rating is None and row.rank is None and row.too_few


def test_all_ties_rate_everyone_alike():
    table = leaderboard([("p", "q", "tie", 20), ("q", "r", "bothbad", 20), ("p", "r", "tie", 20)])
    assert all(row.rating == pytest.approx(1000, abs=0.01) for row in table.rows)
    assert {row.rank for row in table.rows} == {1}
    assert all(row.ties == 40 and row.win_rate == 0 for row in table.rows)


def test_a_model_that_never_won_has_a_finite_rating_at_the_bottom():
    table = leaderboard([("top", "low", "a", 30), ("mid", "low", "a", 30), ("top", "mid", "a", 20),
                         ("top", "mid", "b", 10)])
    assert table.models == ["top", "mid", "low"]
    low = table.rows[-1]
    assert math.isfinite(low.rating) and math.isfinite(low.lower) and low.wins == 0 and low.win_rate == 0
    assert low.rank == 3  # its interval lies below the others'


def test_a_pair_never_met_and_groups_never_linked_are_flagged():
    table = leaderboard([("a", "b", "a", 12), ("a", "b", "b", 8), ("c", "d", "a", 15), ("c", "d", "tie", 5)])
    notes = {row.model: row.note for row in table.rows}
    assert "no chain of votes links it to c, d" in notes["a"]
    assert all(row.too_few and math.isfinite(row.rating) for row in table.rows)
    chain = leaderboard([("a", "b", "a", 12), ("b", "c", "a", 12)])
    notes = {row.model: row.note for row in chain.rows}
    assert notes["a"] == "never met c" and notes["b"] == ""
    few = leaderboard([("a", "b", "a", 3)])
    assert all("too few votes (3 of the 10 needed)" in row.note for row in few.rows)


def test_pairwise_win_rates_count_ties_half():
    table = leaderboard([("a", "b", "a", 6), ("b", "a", "tie", 4), ("a", "c", "b", 5)], rounds=0)
    i, j, k = (table.models.index(n) for n in "abc")
    assert table.win_rates[i, j] == pytest.approx(0.8) and table.win_rates[j, i] == pytest.approx(0.2)
    assert math.isnan(table.win_rates[j, k]) and table.battles[i, j] == 10
