"""Votes on battles in the gallery database: recording (one per battle, a daily cap per voter), undo, the
aggregated (model A, model B, outcome) counts the leaderboard is fitted on, listing and importing."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from arena.battles.votes import Vote
from arena.errors import InputError
from arena.store.database import insert, insert_many
from arena.store.dialects import SQLITE
from arena.store.records import new_id

if TYPE_CHECKING:
    from arena.store import Store

DAY_S = 24 * 3600
COLUMNS = ("id", "battle_id", "kind", "model_a", "model_b", "side_a", "side_b", "outcome", "reason", "output_a",
           "output_b", "prompt", "suite", "case_id", "case_tags", "voter", "voter_kind", "blind", "leak",
           "created_at")


@dataclass
class VoteFilter:
    """Which votes count: ``voter_kind`` people_blind (leaks left out unless ``include_leaks``), people_named or
    judge (``voter`` names the judge); None for any."""

    kind: str | None = None
    voter_kind: str | None = "people_blind"
    voter: str | None = None
    include_leaks: bool = False
    suite: str | None = None
    case_tag: str | None = None
    since: float | None = None
    until: float | None = None

    def where(self, dialect=SQLITE) -> tuple[str, list]:
        terms, values = [], []
        for column, value in (("kind", self.kind), ("voter_kind", self.voter_kind), ("voter", self.voter),
                              ("suite", self.suite)):
            if value is not None:
                terms.append(f"{column} = ?")
                values.append(value)
        if self.voter_kind == "people_blind" and not self.include_leaks:
            terms.append("leak = 0")
        if self.case_tag:
            terms.append(dialect.json_list_holds("votes.case_tags"))
            values.append(self.case_tag)
        if self.since is not None:
            terms.append("created_at >= ?")
            values.append(self.since)
        if self.until is not None:
            terms.append("created_at < ?")
            values.append(self.until)
        return (" WHERE " + " AND ".join(terms)) if terms else "", values


class VoteStore:
    """The votes table of ``store`` (its ``connection()`` and ``transaction()``)."""

    def __init__(self, store: "Store"):
        self.store = store

    def record(self, vote: Vote, cap_per_day: int | None = None) -> str:
        """Store the vote and return its id; refused in a sentence for a battle that has a vote already, or a
        voter past ``cap_per_day`` votes in the last 24 hours."""
        vote.check()
        vote.id = vote.id or new_id()
        with self.store.transaction() as db:
            # One vote per battle and the voter's cap hold across processes: on PostgreSQL these locks make
            # concurrent votes take turns (on SQLite the write transaction already does).
            self.store.dialect.lock(db, f"battle:{vote.battle_id}")
            self.store.dialect.lock(db, f"voter:{vote.voter}")
            if db.execute("SELECT 1 FROM votes WHERE battle_id = ?", (vote.battle_id,)).fetchone():
                raise InputError("This battle has a vote already: a battle takes one vote.")
            if cap_per_day is not None and _voted_since(db, vote.voter, time.time() - DAY_S) >= cap_per_day:
                raise InputError(f"Vote not taken: {cap_per_day} votes a day is the most one voter may cast; "
                                 "try again tomorrow.")
            insert(db, "votes", dict(zip(COLUMNS, _row(vote), strict=True)))
        return vote.id

    def undo(self, vote_id: str, voter: str) -> None:
        """Take back a vote: only its voter may, and only their latest vote."""
        with self.store.transaction() as db:
            row = db.execute("SELECT voter FROM votes WHERE id = ?", (vote_id,)).fetchone()
            if row is None:
                raise InputError("No such vote to undo (it was taken back already?).")
            if row["voter"] != voter:
                raise InputError("Only the person who voted can undo the vote.")
            latest = db.execute("SELECT id FROM votes WHERE voter = ? ORDER BY created_at DESC, id DESC LIMIT 1",
                                (voter,)).fetchone()
            if latest["id"] != vote_id:
                raise InputError("Only your latest vote can be undone.")
            shas = [r[0] for r in db.execute("SELECT sha FROM vote_images WHERE vote_id = ?", (vote_id,))]
            db.execute("DELETE FROM vote_images WHERE vote_id = ?", (vote_id,))
            db.execute("DELETE FROM votes WHERE id = ?", (vote_id,))
        for sha in set(shas):
            if not self.store._image_used(sha):
                self.store.images.delete(sha)

    def voted_today(self, voter: str) -> int:
        return _voted_since(self.store.connection(), voter, time.time() - DAY_S)

    def pair_counts(self, kind: str) -> Counter:
        """How often each pair (sorted names) has a vote, any voter."""
        rows = self.store.connection().execute(
            "SELECT model_a, model_b, COUNT(*) FROM votes WHERE kind = ? GROUP BY model_a, model_b", (kind,))
        counts: Counter = Counter()
        for a, b, n in rows:
            counts[tuple(sorted((a, b)))] += n
        return counts

    def counts(self, where: VoteFilter | None = None) -> list[tuple[str, str, str, int]]:
        """(model_a, model_b, outcome, number of votes) for the votes ``where`` picks."""
        condition, values = (where or VoteFilter()).where(self.store.dialect)
        return [tuple(row) for row in self.store.connection().execute(
            f"SELECT model_a, model_b, outcome, COUNT(*) FROM votes{condition} "
            "GROUP BY model_a, model_b, outcome", values)]

    def rows(self, where: VoteFilter | None = None) -> list[Vote]:
        condition, values = (where or VoteFilter(voter_kind=None)).where(self.store.dialect)
        cursor = self.store.connection().execute(
            f"SELECT * FROM votes{condition} ORDER BY created_at, id", values)
        return [_vote(row) for row in cursor]

    def voters(self, voter_kind: str = "judge") -> list[str]:
        return [r[0] for r in self.store.connection().execute(
            "SELECT DISTINCT voter FROM votes WHERE voter_kind = ? ORDER BY voter", (voter_kind,))]

    def facets(self) -> dict:
        """The suites and case tags votes carry (for the leaderboard's filters)."""
        db = self.store.connection()
        suites = [r[0] for r in db.execute("SELECT DISTINCT suite FROM votes WHERE suite IS NOT NULL ORDER BY 1")]
        tags = [r[0] for r in db.execute("SELECT DISTINCT json_each.value FROM votes, "
                                         f"{self.store.dialect.json_list_items('votes.case_tags')} ORDER BY 1")]
        return {"suites": suites, "tags": tags}

    def import_votes(self, votes: Iterable[Vote]) -> tuple[int, int]:
        """Store votes read from a file in one transaction: (stored, skipped as already there)."""
        rows = []
        for vote in votes:
            vote.check()
            vote.id = vote.id or new_id()
            rows.append(_row(vote))
        with self.store.transaction() as db:
            stored = insert_many(db, "votes", [dict(zip(COLUMNS, row, strict=True)) for row in rows], "ignore")
        return stored, len(rows) - stored

    def count(self) -> int:
        return self.store.connection().execute("SELECT COUNT(*) FROM votes").fetchone()[0]


def _voted_since(db, voter: str, since: float) -> int:
    return db.execute("SELECT COUNT(*) FROM votes WHERE voter = ? AND created_at >= ?", (voter, since)).fetchone()[0]


def _row(vote: Vote) -> tuple:
    return (vote.id, vote.battle_id, vote.kind, vote.model_a, vote.model_b, vote.side_a, vote.side_b, vote.outcome,
            vote.reason or "", vote.output_a, vote.output_b, vote.prompt or "", vote.suite, vote.case_id,
            json.dumps(list(vote.case_tags or [])), vote.voter, vote.voter_kind, int(vote.blind), int(vote.leak),
            float(vote.created_at))


def _vote(row) -> Vote:
    return Vote(id=row["id"], battle_id=row["battle_id"], kind=row["kind"], model_a=row["model_a"],
                model_b=row["model_b"], outcome=row["outcome"], reason=row["reason"], side_a=row["side_a"],
                output_a=row["output_a"], output_b=row["output_b"], prompt=row["prompt"], suite=row["suite"],
                case_id=row["case_id"], case_tags=json.loads(row["case_tags"] or "[]"), voter=row["voter"],
                voter_kind=row["voter_kind"], blind=bool(row["blind"]), leak=bool(row["leak"]),
                created_at=row["created_at"])
