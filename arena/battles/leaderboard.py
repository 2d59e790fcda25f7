"""The leaderboard from stored votes (which votes count, then the ratings), and votes to and from files:
JSON Lines and CSV out, our JSON Lines or FastChat's battle format (JSON list or JSON Lines) in."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from arena.battles.votes import KINDS, OUTCOMES, VOTER_KINDS, Vote
from arena.errors import InputError

if TYPE_CHECKING:
    from arena.battles.ratings import Leaderboard
    from arena.store import Store

ROUNDS = 100  # arena.battles.ratings.ROUNDS (imported on first use: scipy takes a second to load)

MAX_IMPORT_BYTES = 512 * 1024 * 1024
FASTCHAT_WINNERS = {"model_a": "a", "model_b": "b", "tie": "tie", "tie (bothbad)": "bothbad"}
CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PEOPLE = {"people": "people_blind", "blind": "people_blind", "people_blind": "people_blind",
          "named": "people_named", "people_named": "people_named"}


def vote_filter(kind: str | None = None, voter: str = "people", suite: str | None = None,
                case_tag: str | None = None, since: float | None = None, until: float | None = None,
                include_leaks: bool = False):
    """Which votes a board counts: ``voter`` is people (blind, the default), named, or a judge's name."""
    from arena.store.votes import VoteFilter

    if kind is not None and kind not in KINDS:
        raise InputError(f"A board is of text or image models, not {str(kind)[:40]!r}.")
    voter = (voter or "people").strip()
    if voter.lower() in PEOPLE:
        return VoteFilter(kind=kind, voter_kind=PEOPLE[voter.lower()], suite=suite or None,
                          case_tag=case_tag or None, since=since, until=until, include_leaks=include_leaks)
    return VoteFilter(kind=kind, voter_kind="judge", voter=voter, suite=suite or None, case_tag=case_tag or None,
                      since=since, until=until)


def board(store: "Store", where=None, rounds: int = ROUNDS, seed: int = 0) -> Leaderboard:
    """The ratings of the votes ``where`` picks (default: blind people's votes without leaks)."""
    from arena.battles.ratings import leaderboard
    from arena.store.votes import VoteStore

    return leaderboard(VoteStore(store).counts(where or vote_filter()), rounds=rounds, seed=seed)


# --- export ----------------------------------------------------------------------------------------------------

EXPORT_FIELDS = ("id", "battle_id", "kind", "model_a", "model_b", "side_a", "side_b", "outcome", "reason",
                 "output_a", "output_b", "prompt", "suite", "case_id", "case_tags", "voter", "voter_kind", "blind",
                 "leak", "created_at")


def export_votes(store: "Store", path: Path, where=None) -> int:
    """Write the votes to ``path``: CSV when it ends in .csv, else JSON Lines. Returns how many."""
    from arena.store.votes import VoteFilter, VoteStore

    votes = VoteStore(store).rows(where or VoteFilter(voter_kind=None))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = votes_csv(votes) if path.suffix.lower() == ".csv" else votes_jsonl(votes)
    path.write_text(text, encoding="utf-8")
    return len(votes)


def votes_jsonl(votes: Iterable[Vote]) -> str:
    return "".join(json.dumps(vote.to_dict(), ensure_ascii=False) + "\n" for vote in votes)


def votes_csv(votes: Iterable[Vote]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_FIELDS)
    for vote in votes:
        row = vote.to_dict()
        writer.writerow([_csv_cell(" ".join(row[f]) if f == "case_tags" else row[f]) for f in EXPORT_FIELDS])
    return out.getvalue()


def _csv_cell(value) -> str:
    """A cell a spreadsheet shows as text: one starting like a formula gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(CSV_FORMULA_STARTS) else text


# --- import ----------------------------------------------------------------------------------------------------

def import_votes(store: "Store", path: Path, kind: str = "text") -> tuple[int, int]:
    """Read votes from a JSON list or JSON Lines file (our export, or FastChat's battles) and store them:
    (stored, already there)."""
    from arena.store.votes import VoteStore

    return VoteStore(store).import_votes(read_votes(path, kind))


def read_votes(path: Path, kind: str = "text") -> list[Vote]:
    path = Path(path)
    try:
        if path.stat().st_size > MAX_IMPORT_BYTES:
            raise InputError(f"{path.name} is over {MAX_IMPORT_BYTES // 2**20} MB; split it.")
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"Cannot read {path.name}: {getattr(error, 'strerror', None) or error}.") from None
    items = _json_items(text, path.name)
    seen: Counter = Counter()
    votes = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise InputError(f"{path.name}, vote {number}: each vote is a JSON object.")
        fingerprint = hashlib.sha1(json.dumps(item, sort_keys=True, default=str).encode()).hexdigest()[:20]
        seen[fingerprint] += 1
        try:
            votes.append(_vote_of(item, kind, f"import-{fingerprint}-{seen[fingerprint]}"))
        except InputError as error:
            raise InputError(f"{path.name}, vote {number}: {error}") from None
    return votes


def _json_items(text: str, name: str) -> list:
    stripped = text.strip()
    if not stripped:
        return []
    if stripped.startswith("["):
        try:
            items = json.loads(stripped)
        except json.JSONDecodeError as error:
            raise InputError(f"{name} is not valid JSON (line {error.lineno}: {error.msg}).") from None
        return items
    items = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise InputError(f"{name}, line {number}, is not a JSON object ({error.msg}).") from None
    return items


def _vote_of(item: dict, kind: str, battle_id: str) -> Vote:
    if "outcome" in item:  # our own export
        fields = {k: item[k] for k in EXPORT_FIELDS if k in item and k != "side_b"}
        fields.setdefault("battle_id", battle_id)
        fields["case_tags"] = list(fields.get("case_tags") or [])
        fields["created_at"] = float(fields.get("created_at") or time.time())
        if fields.get("outcome") not in OUTCOMES:
            raise InputError(f"the outcome is one of {', '.join(OUTCOMES)}.")
        try:
            return Vote(**fields).check()
        except TypeError:
            raise InputError("a field is missing (model_a, model_b, outcome, kind, voter, voter_kind).") from None
    winner = item.get("winner")
    if winner not in FASTCHAT_WINNERS:
        raise InputError(f"'winner' is one of {', '.join(repr(w) for w in FASTCHAT_WINNERS)}, "
                         f"not {str(winner)[:40]!r}.")
    if not isinstance(item.get("model_a"), str) or not isinstance(item.get("model_b"), str):
        raise InputError("model_a and model_b are model names.")
    blind = bool(item.get("anony", True))
    voter_kind = "people_blind" if blind else "people_named"
    return Vote(battle_id=battle_id, kind=kind, model_a=item["model_a"],
                model_b=item["model_b"], outcome=FASTCHAT_WINNERS[winner], voter=str(item.get("judge") or "imported"),
                voter_kind=voter_kind, blind=blind, created_at=_timestamp(item.get("tstamp")),
                prompt=str(item.get("prompt") or "")).check()


def _timestamp(value) -> float:
    if value is None or value == "":
        return time.time()
    try:
        return float(value)
    except (TypeError, ValueError):
        pass
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"tstamp {str(value)[:40]!r} is neither seconds since 1970 nor an ISO date.") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


__all__ = ["VOTER_KINDS", "board", "export_votes", "import_votes", "read_votes", "vote_filter", "votes_csv",
           "votes_jsonl"]
