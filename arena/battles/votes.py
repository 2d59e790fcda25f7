"""A vote on a battle, its outcomes, identity-leak detection, and the vote store the battles record through."""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable

from arena.errors import InputError

if TYPE_CHECKING:
    from arena.store import Store

OUTCOMES = ("a", "b", "tie", "bothbad")
KINDS = ("text", "image")
VOTER_KINDS = ("people_blind", "people_named", "judge")
SIDES = ("left", "right")
DEFAULT_CAP_PER_DAY = 500
MAX_REASON_CHARS = 500

# Names an answer may give itself away by, besides the catalog's entries (matched as whole words, any case).
VENDOR_NAMES = (
    "OpenAI", "GPT", "ChatGPT", "DALL-E", "DALL·E", "Mistral", "Mixtral", "Pixtral", "Codestral", "Le Chat",
    "Meta", "Meta AI", "Llama", "Anthropic", "Claude", "Google", "Gemini", "Gemma", "DeepMind", "PaLM", "Qwen",
    "Alibaba", "Tongyi", "SmolVLM", "Hugging Face", "HuggingFace", "Stability", "Stability AI", "Stable Diffusion",
    "SDXL", "FLUX", "Black Forest Labs", "Midjourney", "Microsoft", "Copilot", "DeepSeek", "Cohere", "LLaVA",
    "Idefics", "Moondream", "InternVL", "Molmo", "xAI", "Ollama",
)


@dataclass
class Vote:
    battle_id: str
    kind: str
    model_a: str
    model_b: str
    outcome: str
    reason: str = ""
    side_a: str = "left"  # where model_a was shown; model_b was on the other side
    output_a: str | None = None
    output_b: str | None = None
    prompt: str = ""
    suite: str | None = None
    case_id: str | None = None
    case_tags: list[str] = field(default_factory=list)
    voter: str = "anonymous"
    voter_kind: str = "people_blind"
    blind: bool = True
    leak: bool = False
    created_at: float = field(default_factory=time.time)
    id: str | None = None

    @property
    def side_b(self) -> str:
        return "right" if self.side_a == "left" else "left"

    def check(self) -> "Vote":
        """Refuse, in a sentence, a vote whose fields do not fit."""
        if self.outcome not in OUTCOMES:
            raise InputError(f"A vote's outcome is one of {', '.join(OUTCOMES)}, not {str(self.outcome)[:40]!r}.")
        if self.kind not in KINDS:
            raise InputError(f"A vote is on text or image models, not {str(self.kind)[:40]!r}.")
        if self.voter_kind not in VOTER_KINDS:
            raise InputError(f"A voter is one of {', '.join(VOTER_KINDS)}, not {str(self.voter_kind)[:40]!r}.")
        if self.side_a not in SIDES:
            raise InputError(f"A side is left or right, not {str(self.side_a)[:40]!r}.")
        if not self.model_a or not self.model_b or self.model_a == self.model_b:
            raise InputError("A vote needs two different models.")
        if not str(self.voter or "").strip():
            raise InputError("A vote needs a voter.")
        if not str(self.battle_id or "").strip():
            raise InputError("A vote needs a battle id.")
        return self

    def to_dict(self) -> dict:
        return {
            "id": self.id, "battle_id": self.battle_id, "kind": self.kind, "model_a": self.model_a,
            "model_b": self.model_b, "side_a": self.side_a, "side_b": self.side_b, "outcome": self.outcome,
            "reason": self.reason, "output_a": self.output_a, "output_b": self.output_b, "prompt": self.prompt,
            "suite": self.suite, "case_id": self.case_id, "case_tags": list(self.case_tags), "voter": self.voter,
            "voter_kind": self.voter_kind, "blind": self.blind, "leak": self.leak, "created_at": self.created_at,
        }


def leak_pattern(names: Iterable[str]) -> re.Pattern | None:
    """One case-insensitive pattern matching any of ``names`` as a whole word (longest first)."""
    words = sorted({str(n).strip() for n in names if str(n or "").strip()}, key=len, reverse=True)
    if not words:
        return None
    alternatives = "|".join(re.escape(word).replace(r"\ ", r"[\s_-]*") for word in words)
    return re.compile(rf"(?<![\w])(?:{alternatives})(?![\w])", re.IGNORECASE)


def find_leaks(texts: Iterable[str | None], names: Iterable[str] = ()) -> list[str]:
    """The model or vendor names the texts mention (as written there), each once."""
    pattern = leak_pattern([*VENDOR_NAMES, *names])
    found: list[str] = []
    for text in texts:
        for match in pattern.finditer(text or "") if pattern else ():
            if match.group(0).lower() not in (f.lower() for f in found):
                found.append(match.group(0))
    return found


def catalog_names(catalog) -> list[str]:
    """Every entry's name and model id (a path's last part), for leak detection."""
    names = []
    for entry in catalog:
        names.append(entry.name)
        model = str(getattr(entry, "model", "") or "").rstrip("/").rsplit("/", 1)[-1]
        if len(model) >= 3:
            names.append(model)
    return names


class StoreVotes:
    """The votes of battles, Compare's "Pick the best" and judges, kept in the gallery's database."""

    def __init__(self, store: "Store", cap_per_day: int = DEFAULT_CAP_PER_DAY, names: Iterable[str] = (),
                 own_cap: Callable[[str], int | None] | None = None):
        from arena.store.votes import VoteStore

        self.store = VoteStore(store)
        self.cap_per_day = cap_per_day
        self.names = list(names)
        self.own_cap = own_cap  # a voter's own daily cap (the users file's), where one is set

    @classmethod
    def for_engine(cls, engine) -> "StoreVotes":
        """On the engine's store, with its settings' cap (or a user's own, from the users file) and its catalog's
        names for leak detection."""
        return cls(engine.store, engine.settings.vote_cap_per_day, catalog_names(engine.catalog),
                   own_cap=engine.users.vote_cap if engine.users is not None else None)

    def add(self, battle_id: str, kind: str, model_a: str, model_b: str, outcome: str, reason: str = "",
            output_a: str | None = None, output_b: str | None = None, text_a: str | None = "",
            text_b: str | None = "", prompt: str = "", suite: str | None = None, case_id: str | None = None,
            voter: str = "anonymous", voter_kind: str = "people_blind", case_tags: Iterable[str] = (),
            side_a: str = "left") -> Vote:
        leaks = find_leaks([text_a, text_b], [*self.names, model_a, model_b])
        vote = Vote(battle_id=str(battle_id), kind=kind, model_a=model_a, model_b=model_b, outcome=outcome,
                    reason=(reason or "").strip()[:MAX_REASON_CHARS], side_a=side_a, output_a=output_a,
                    output_b=output_b, prompt=prompt or "", suite=suite, case_id=case_id,
                    case_tags=list(case_tags or ()), voter=str(voter or "").strip(), voter_kind=voter_kind,
                    blind=voter_kind == "people_blind", leak=bool(leaks))
        cap = self.cap_of(vote.voter) if voter_kind != "judge" else None
        vote.id = self.store.record(vote, cap_per_day=cap)
        return vote

    def cap_of(self, voter: str) -> int:
        """The most votes ``voter`` may cast a day: their own cap in the users file, else everyone's."""
        own = self.own_cap(voter) if self.own_cap is not None else None
        return own if own is not None else self.cap_per_day

    def undo(self, vote: "Vote | str", voter: str) -> None:
        self.store.undo(vote.id if isinstance(vote, Vote) else str(vote), voter)

    def pair_counts(self, kind: str) -> Counter:
        return self.store.pair_counts(kind)
