"""A blind battle: one prompt to two models of one kind, shown as "Model A" and "Model B" until the vote.

The two answers stream through the engine like a comparison's (metrics, Stop, outputs kept in the gallery so a
vote can point at them). A follow-up goes to both sides, each with its own history, still anonymous. A vote is
taken only when both sides have finished without error; an error on either side ends the battle with no vote.
After the vote the names are revealed; the vote can be undone until the next battle starts.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from arena.battles.pairs import Kind, count_pairs, models_of_kind, pair_key, pick_pair
from arena.conversation import Conversation
from arena.errors import InputError
from arena.images import load_image
from arena.pane import PaneSnapshot
from arena.request import GenerationParams, Request
from arena.store import new_id

if TYPE_CHECKING:
    from arena.engine import Comparison, Engine
    from arena.images import InputImage
    from arena.suites.model import Case, Suite

SIDES = ("A", "B")
OUTCOMES = {"a": "A is better", "b": "B is better", "tie": "Tie", "bothbad": "Both are bad"}
KIND_LABEL = {"text": "text model", "image": "image generator"}
# Battles kept in memory for votes by id (the API's /vote); the oldest go first.
KEPT_BATTLES = 200
MAX_REASON_CHARS = 500


def parse_outcome(value) -> str:
    """"a", "b", "tie", "bothbad" (or the button words: "A is better", "Both are bad"…)."""
    text = str(value or "").strip().lower()
    for outcome, words in OUTCOMES.items():
        if text in (outcome, words.lower()):
            return outcome
    aliases = {"model a": "a", "model_a": "a", "model b": "b", "model_b": "b", "both bad": "bothbad",
               "both_bad": "bothbad", "tie (bothbad)": "bothbad"}
    if text in aliases:
        return aliases[text]
    raise InputError(f'The outcome is one of "a", "b", "tie" or "bothbad", not {str(value)[:40]!r}.')


@dataclass(frozen=True)
class CaseRef:
    """The suite case a battle's prompt was drawn from."""

    suite: str
    version: str
    case_id: str
    tags: tuple[str, ...] = ()


@dataclass
class Battle:
    id: str
    kind: Kind
    models: tuple[str, str]  # (shown as Model A on the left, shown as Model B on the right)
    prompt: str
    image: "InputImage | None"
    params: GenerationParams
    case: CaseRef | None
    comparisons: list["Comparison"] = field(default_factory=list)  # one per turn, the first message first
    conversation: Conversation | None = None
    vote: object | None = None  # the stored vote, once cast
    voter: str | None = None
    created_at: float = field(default_factory=time.time)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def current(self) -> "Comparison":
        return self.comparisons[-1]

    def snapshots(self) -> list[PaneSnapshot]:
        return self.current.snapshots()

    @property
    def finished(self) -> bool:
        return self.current.finished

    def state(self) -> str:
        """running | finished (both done, a vote may be cast) | errored | stopped | voted."""
        if self.vote is not None:
            return "voted"
        panes = self.snapshots()
        if any(p.status == "error" for p in panes):
            return "errored"
        if not all(p.finished and p.settled for p in panes):
            return "running"
        return "finished" if all(p.status == "done" for p in panes) else "stopped"

    def end_on_error(self) -> None:
        """An error on one side ends the battle: the other side is stopped (its answer would get no vote)."""
        if any(p.status == "error" for p in self.snapshots()):
            self.current.cancel()

    def updates(self, **options) -> Iterator[set[int]]:
        """The current turn's changed panes, as Comparison.updates; an error on one side stops the other."""
        for changed in self.current.updates(**options):
            self.end_on_error()
            yield changed

    def why_no_vote(self) -> str | None:
        """None when a vote may be cast; else one sentence saying why not."""
        state = self.state()
        if state == "voted":
            return "This battle has a vote already."
        if state == "running":
            return "Wait until both sides have finished: a vote is taken only on two whole answers."
        panes = self.snapshots()
        for side, pane in zip(SIDES, panes, strict=True):
            if pane.status == "error":
                error = self.mask(pane.error or "an error").rstrip(".")
                return f"Model {side} failed: {error}. This battle ends without a vote; press Next battle."
        for side, pane in zip(SIDES, panes, strict=True):
            if pane.status != "done":
                return f"Model {side} was stopped before it finished: this battle ends without a vote."
        if any(p.record_id is None for p in panes):
            return "The answers were not kept in the gallery, so a vote could not point at them."
        return None

    def mask(self, text: str) -> str:
        """``text`` with both models' names and ids replaced by "Model A" / "Model B"."""
        for side, name in zip(SIDES, self.models, strict=True):
            entry = self.current.engine.catalog[name]
            for word in sorted({name, entry.model}, key=len, reverse=True):
                if word:
                    text = re.sub(re.escape(word), f"Model {side}", text, flags=re.IGNORECASE)
        return text

    def anonymous(self, pane: PaneSnapshot) -> PaneSnapshot:
        """What may be shown before the vote: no name, no kind of backend, no name in notices or errors, and no
        gallery id (the gallery shows who made each output)."""
        side = SIDES[pane.index]
        return replace(pane, model=f"Model {side}", kind=self.kind, kind_label=KIND_LABEL[self.kind],
                       notices=[self.mask(n) for n in pane.notices],
                       error=self.mask(pane.error) if pane.error else None, record_id=None)

    def shown(self) -> list[PaneSnapshot]:
        """The panes as the page may show them now: anonymous until the vote, then with their names."""
        panes = self.snapshots()
        return panes if self.vote is not None else [self.anonymous(p) for p in panes]

    def follow_up(self, text: str, image: "InputImage | None" = None) -> "Comparison":
        """A follow-up to both sides, each with its own history; both stay anonymous."""
        if self.kind != "text" or self.conversation is None:
            raise InputError("Follow-ups are for battles between text models; press Next battle to draw again.")
        if self.vote is not None:
            raise InputError("This battle has its vote: press Next battle to start another.")
        if not (text or "").strip():
            raise InputError("Type a follow-up message first.")
        if self.state() != "finished":
            raise InputError(self.why_no_vote() or "Wait until both sides have finished.")
        self.conversation.record(self.current)
        comparison = self.conversation.send(text, image)
        self.comparisons.append(comparison)
        return comparison


def common_params(engine: "Engine", kind: Kind, models: tuple[str, str], params: GenerationParams,
                  rng: random.Random) -> GenerationParams:
    """Generators in one battle draw with the same seed and the same size."""
    if kind != "image":
        return params
    update: dict = {}
    if params.seed is None:
        update["seed"] = rng.randrange(2**31)
    if params.width is None or params.height is None:
        for name in sorted(models):
            default = engine.catalog[name].params
            if default.width and default.height:
                update |= {"width": params.width or default.width, "height": params.height or default.height}
                break
    return params.model_copy(update=update)


class Battles:
    """Every battle of this process by id, pair sampling, and votes through the vote store."""

    def __init__(self, engine: "Engine", votes=None, rng: random.Random | None = None):
        self.engine = engine
        self.votes = votes if votes is not None else default_votes(engine)
        self.rng = rng or random.SystemRandom()
        self._battles: OrderedDict[str, Battle] = OrderedDict()
        self._lock = threading.Lock()

    # --- which models ----------------------------------------------------------------------------------------

    def available(self, kind: Kind) -> list[str]:
        entries = [self.engine.catalog[name] for name in models_of_kind(self.engine.catalog, kind)]
        state = self.engine.availability.check_all(entries)
        return [entry.name for entry in entries if state[entry.name].ok]

    def met(self, kind: Kind) -> Counter:
        """How often each pair has met: stored votes, and this process's battles that have no vote yet."""
        counts = Counter(self.votes.pair_counts(kind)) if self.votes is not None else Counter()
        with self._lock:
            open_battles = [b.models for b in self._battles.values() if b.kind == kind and b.vote is None]
        counts.update(count_pairs(open_battles))
        return counts

    def pick(self, kind: Kind, eligible: list[str] | None = None) -> tuple[str, str]:
        available = self.available(kind)
        chosen = [m for m in available if eligible is None or m in eligible]
        return pick_pair(chosen, self.met(kind), self.rng, kind)

    # --- battles ---------------------------------------------------------------------------------------------

    def start(self, kind: Kind, prompt: str, image: "InputImage | None" = None,
              params: GenerationParams | None = None, eligible: list[str] | None = None,
              case: CaseRef | None = None, save: bool = True, user_name: str | None = None) -> Battle:
        """A new battle between two models drawn from ``eligible``; its outputs record ``user_name``, if any."""
        params = params or GenerationParams()
        self.engine.check(Request(prompt or "", image, params), [self._any(kind)])
        models = self.pick(kind, eligible)
        params = common_params(self.engine, kind, models, params, self.rng)
        battle = Battle(new_id(), kind, models, prompt, image, params, case)
        conversation = Conversation(self.engine.signed_in(user_name), list(models), save=save, battle_id=battle.id)
        if kind == "text":
            comparison = conversation.send(prompt, image, params)
            battle.conversation = conversation
        else:
            comparison = conversation.send(prompt, image, params, models=[], also=list(models))
        battle.comparisons.append(comparison)
        with self._lock:
            self._battles[battle.id] = battle
            while len(self._battles) > KEPT_BATTLES:
                _, old = self._battles.popitem(last=False)
                old.current.cancel()
        return battle

    def _any(self, kind: Kind) -> str:
        names = models_of_kind(self.engine.catalog, kind)
        if not names:
            raise InputError(f"The catalog has no {'image generators' if kind == 'image' else 'text models'}.")
        return names[0]

    def get(self, battle_id: str) -> Battle:
        with self._lock:
            battle = self._battles.get(str(battle_id or "").strip())
        if battle is None:
            raise InputError(f"No battle with id {str(battle_id)[:40]!r} (battles are kept while the app runs).")
        return battle

    # --- votes -----------------------------------------------------------------------------------------------

    def vote(self, battle: Battle, outcome, reason: str = "", voter: str = "anonymous",
             voter_kind: str = "people_blind"):
        """Store the vote; refused in a sentence unless both sides finished without error."""
        outcome = parse_outcome(outcome)
        with battle._lock:
            why = battle.why_no_vote()
            if why:
                raise InputError(why)
            if self.votes is None:
                raise InputError("Votes are kept in the gallery's database, and the store is off.")
            panes = battle.snapshots()
            battle.vote = self.votes.add(
                battle_id=battle.id, kind=battle.kind, model_a=battle.models[0], model_b=battle.models[1],
                outcome=outcome, reason=(reason or "").strip()[:MAX_REASON_CHARS],
                output_a=panes[0].record_id, output_b=panes[1].record_id, text_a=panes[0].text,
                text_b=panes[1].text, prompt=battle.prompt, suite=battle.case.suite if battle.case else None,
                case_id=battle.case.case_id if battle.case else None,
                case_tags=battle.case.tags if battle.case else (), voter=voter, voter_kind=voter_kind)
            battle.voter = voter
        return battle.vote

    def undo(self, battle: Battle, voter: str) -> None:
        with battle._lock:
            if battle.vote is None:
                raise InputError("No vote to undo in this battle.")
            if battle.voter != voter:
                raise InputError("Only the person who voted can undo the vote.")
            self.votes.undo(battle.vote, voter)
            battle.vote = None
            battle.voter = None


def default_votes(engine: "Engine"):
    """The vote store on the engine's gallery database, or None where outputs are not kept."""
    if engine.store is None:
        return None
    from arena.battles.votes import StoreVotes

    return StoreVotes.for_engine(engine)


# --- random cases ------------------------------------------------------------------------------------------------

def suite_files(folders: list[Path]) -> list[Path]:
    return [path for folder in folders if folder.is_dir() for path in sorted(folder.glob("*.y*ml"))
            if path.is_file()]


def draw_case(folders: list[Path], kind: Kind, rng: random.Random | None = None,
              loader: Callable[[Path], "Suite"] | None = None) -> tuple["Suite", "Case"]:
    """A random case for this kind of battle from the suites in ``folders`` (prompts/ and --suites-dir)."""
    from arena.suites.model import SuiteError, load_suite

    rng = rng or random.SystemRandom()
    loader = loader or load_suite
    found = []
    for path in suite_files(folders):
        try:
            suite = loader(path)
        except (SuiteError, OSError):
            continue
        found += [(suite, case) for case in suite.cases if case.expect == kind]
    if not found:
        what = "image generators" if kind == "image" else "text models"
        raise InputError(f"No suite in prompts/ has a case for {what}.")
    return rng.choice(found)


def case_request(suite: "Suite", case: "Case") -> tuple[str, "InputImage | None", GenerationParams, CaseRef]:
    path = case.image_path()
    image = load_image(path) if path else None
    ref = CaseRef(suite.name, str(suite.version), case.id, tuple(case.tags))
    return case.prompt, image, suite.params(case), ref


__all__ = ["Battle", "Battles", "CaseRef", "OUTCOMES", "SIDES", "case_request", "draw_case", "pair_key",
           "parse_outcome"]
