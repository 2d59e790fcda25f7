"""What the gallery keeps of one output, and the filter that selects outputs: plain data, no SQL."""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone


@dataclass
class OutputRecord:
    id: str
    comparison_id: str
    created_at: float
    model: str
    kind: str
    output: str
    status: str
    prompt: str
    input_image: str | None
    text: str
    error: str | None
    images: list[str]
    thumb: str | None
    entry: dict
    params: dict
    used: dict
    versions: dict
    metrics: dict
    notices: list[str]
    parent_id: str | None = None
    rerun_of: str | None = None
    run_id: str | None = None
    favourite: bool = False
    note: str = ""
    case_id: str | None = None
    case_hash: str | None = None
    sample: int | None = None
    user_name: str | None = None  # who was signed in when it was made
    battle_id: str | None = None  # the blind battle it is a side of

    @property
    def created(self) -> str:
        return datetime.fromtimestamp(self.created_at, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")

    def to_dict(self) -> dict:
        return asdict(self)

    def provenance(self) -> dict:
        """What a picture file carries: everything needed to make it again."""
        keys = ("id", "comparison_id", "created_at", "model", "kind", "prompt", "input_image", "entry", "params",
                "used", "versions", "parent_id", "rerun_of", "run_id", "case_id", "case_hash", "sample")
        return {key: getattr(self, key) for key in keys}


@dataclass
class Filter:
    models: list[str] = field(default_factory=list)
    output: str | None = None  # "text" or "image"
    words: str = ""
    since: float | None = None
    until: float | None = None
    favourites: bool = False
    run_id: str | None = None
    comparison_id: str | None = None
    ids: list[str] | None = None
    # A blind battle's sides are left out until the battle has its vote (the names would give it away).
    open_battles: bool = False


def new_id() -> str:
    """Sortable by time, unique without coordination: 12 hex digits of milliseconds, then 8 random ones."""
    return f"{int(time.time() * 1000):012x}{secrets.token_hex(4)}"
