"""One model's answer within a comparison: what the backend writes into, and what the UI and CLI read."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Literal

from arena.catalog import ModelEntry

if TYPE_CHECKING:
    from PIL import Image

Status = Literal["queued", "running", "done", "error", "cancelled"]
FINAL: frozenset[str] = frozenset({"done", "error", "cancelled"})


@dataclass
class PaneSnapshot:
    """A consistent copy of a pane, safe to read while the backend goes on writing."""

    index: int
    model: str
    kind: str
    kind_label: str
    output: str
    status: Status
    activity: str
    text: str
    images: list[Image.Image]
    notices: list[str]
    error: str | None
    used: dict
    ttft_s: float | None
    total_s: float | None
    tokens: int | None
    tokens_per_s: float | None
    steps_done: int
    steps_total: int
    steps_per_s: float | None
    record_id: str | None = None
    settled: bool = False
    unsaved: str | None = None  # why the output could not be kept in the gallery (one sentence)

    @property
    def finished(self) -> bool:
        return self.status in FINAL


@dataclass
class Pane:
    """Thread-safe: one backend thread writes, any thread reads ``snapshot()``.

    A write after the pane has ended raises PaneClosed, which stops the backend at that point.
    """

    index: int
    entry: ModelEntry
    on_change: Callable[[int], None] = lambda index: None
    cancelled: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._status: Status = "queued"
        self._activity = ""
        self._chunks: list[str] = []
        self._images: list[Image.Image] = []
        self._notices: list[str] = []
        self._error: str | None = None
        self._used: dict = {}
        self._tokens_reported: int | None = None
        self._deltas = 0
        self._steps_done = 0
        self._steps_total = 0
        self._started: float | None = None
        self._first_output: float | None = None
        self._first_step: float | None = None
        self._last_step: float | None = None
        self._finished: float | None = None
        self._record_id: str | None = None
        self._unsaved: str | None = None
        self._settled = False

    # --- written by the engine ---------------------------------------------------------------------------

    def start(self) -> None:
        with self._change():
            self._status = "running"
            self._started = time.monotonic()

    def finish(self, status: Status = "done", error: str | None = None) -> bool:
        """End the pane; False if it had already ended."""
        with self._lock:
            if self._status in FINAL:
                return False
            self._status = status
            self._error = error
            self._activity = ""
            self._finished = time.monotonic()
            if self._started is None:
                self._started = self._finished
        self.on_change(self.index)
        return True

    def settle(self, record_id: str | None = None, unsaved: str | None = None) -> None:
        """After the end: the pane's output is stored (or storing is off, or ``unsaved`` says why it could not
        be). Nothing more will change."""
        with self._lock:
            self._record_id = record_id
            self._unsaved = unsaved
            self._settled = True
        self.on_change(self.index)

    # --- written by backends -----------------------------------------------------------------------------

    def text(self, delta: str, pieces: int = 1) -> None:
        """``pieces``: how many streamed deltas ``delta`` joins (the token count when the server reports none)."""
        if not delta:
            return
        with self._change():
            self._mark_first_output()
            self._chunks.append(delta)
            self._deltas += pieces

    def image(self, image: Image.Image) -> None:
        with self._change():
            self._mark_first_output()
            self._images.append(image)

    def progress(self, done: int, total: int) -> None:
        with self._change():
            now = time.monotonic()
            if self._first_step is None:
                self._first_step = now
            self._last_step = now
            self._steps_done, self._steps_total = done, total

    def activity(self, message: str) -> None:
        """What the backend is doing now, e.g. 'loading weights' or 'waiting for cuda:0'."""
        with self._change():
            self._activity = message

    def notice(self, message: str) -> None:
        with self._change():
            self._notices.append(message)

    def usage(self, output_tokens: int | None) -> None:
        if output_tokens is not None:
            with self._change():
                self._tokens_reported = output_tokens

    def record(self, **used) -> None:
        """Parameters the backend actually used (seed, steps, size…), so the output can be reproduced."""
        with self._change():
            self._used.update(used)

    # --- read by anyone ----------------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        return self._status in FINAL

    @property
    def settled(self) -> bool:
        return self._settled

    @property
    def started_at(self) -> float | None:
        return self._started

    def snapshot(self) -> PaneSnapshot:
        with self._lock:
            end = self._finished or time.monotonic()
            tokens = self._tokens_reported if self._tokens_reported is not None else (self._deltas or None)
            ttft = self._first_output - self._started if self._first_output and self._started else None
            total = end - self._started if self._started is not None else None
            return PaneSnapshot(
                index=self.index,
                model=self.entry.name,
                kind=self.entry.kind,
                kind_label=self.entry.kind_label,
                output=self.entry.output,
                status=self._status,
                activity=self._activity,
                text="".join(self._chunks),
                images=list(self._images),
                notices=list(self._notices),
                error=self._error,
                used=dict(self._used),
                ttft_s=ttft,
                total_s=total,
                tokens=tokens,
                tokens_per_s=_rate(tokens, self._first_output, end) if self.entry.output == "text" else None,
                steps_done=self._steps_done,
                steps_total=self._steps_total,
                steps_per_s=_rate(self._steps_done - 1, self._first_step, self._last_step),
                record_id=self._record_id,
                settled=self._settled,
                unsaved=self._unsaved,
            )

    # --- internals ---------------------------------------------------------------------------------------

    def _mark_first_output(self) -> None:
        if self._first_output is None:
            self._first_output = time.monotonic()

    def _change(self):
        return _Change(self)


class PaneClosed(Exception):
    """Raised into a backend that writes to a pane already ended (cancelled, timed out): it stops there."""


class _Change:
    """Holds the pane's lock for one write, then tells the engine."""

    def __init__(self, pane: Pane):
        self.pane = pane

    def __enter__(self):
        self.pane._lock.acquire()
        if self.pane._status in FINAL:
            self.pane._lock.release()
            raise PaneClosed(f"{self.pane.entry.name}: {self.pane._status}")
        return self

    def __exit__(self, exc_type, exc, tb):
        self.pane._lock.release()
        self.pane.on_change(self.pane.index)
        return False


def _rate(count: int | None, start: float | None, end: float | None) -> float | None:
    if not count or count <= 0 or start is None or end is None or end - start < 1e-3:
        return None
    return count / (end - start)
