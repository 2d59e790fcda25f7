"""leaderboard_s: 1,000,000 stored votes among 40 models (drawn from known strengths), read from the store as
aggregated counts and ranked with 100 bootstrap rounds. Goal ≤ 3 s. Inserting the votes is not counted.

Run: python tests/bench/leaderboard_scale.py [VOTES]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401
import numpy as np

from arena.battles.leaderboard import board, vote_filter
from arena.battles.ratings import leaderboard
from arena.store import Store
from arena.store.votes import COLUMNS, VoteStore

MODELS = 40
OUTCOMES = np.array(["a", "b", "tie", "bothbad"])


def synthetic_votes(count: int, seed: int = 7) -> tuple[list[tuple], np.ndarray]:
    rng = np.random.default_rng(seed)
    strength = np.linspace(-1.5, 1.5, MODELS)
    a = rng.integers(0, MODELS, count)
    b = (a + rng.integers(1, MODELS, count)) % MODELS
    p_a = 1 / (1 + np.exp(-(strength[a] - strength[b])))
    draw = rng.random(count)
    outcome = np.where(draw < 0.1, 2, np.where(draw < 0.15, 3, np.where(rng.random(count) < p_a, 0, 1)))
    now = time.time()
    rows = [(f"v{i}", f"b{i}", "text", f"model-{x:02d}", f"model-{y:02d}", "left", "right", OUTCOMES[o], "", None,
             None, "", None, None, "[]", f"voter-{i % 5000}", "people_blind", 1, 0, now - i)
            for i, (x, y, o) in enumerate(zip(a.tolist(), b.tolist(), outcome.tolist(), strict=True))]
    return rows, strength


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    rows, strength = synthetic_votes(count)
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder))
        with store.transaction() as db:
            db.executemany(f"INSERT INTO votes ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})", rows)
        del rows
        store.connection().execute("ANALYZE")
        start = time.perf_counter()
        table = board(store, vote_filter(kind="text"), rounds=100, seed=0)
        took = time.perf_counter() - start
        start = time.perf_counter()
        counts = VoteStore(store).counts(vote_filter(kind="text"))
        read = time.perf_counter() - start
        start = time.perf_counter()
        leaderboard(counts, rounds=100, seed=0)
        fitted = time.perf_counter() - start
        store.close()
    expected = [f"model-{i:02d}" for i in np.argsort(-strength)]
    print(f"votes: {table.votes}")
    print(f"models: {len(table.rows)}, rank order matches the strengths: {table.models == expected}")
    print(f"counts_read_s: {read:.3f} ({len(counts)} aggregated rows), fit_and_bootstrap_s: {fitted:.3f} (again)")
    print(f"leaderboard_s: {took:.3f}")


if __name__ == "__main__":
    main()
