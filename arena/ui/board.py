"""What one browser session's compare view holds: the conversation, and which answer each pane slot shows.

A pane slot shows one pane of some comparison: the first message's, a follow-up's, a regenerated answer, or a
chain step's (pictures drawn from a description, critiques of a picture) added after the others.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from PIL import Image

from arena.chains import DescribeThenDraw
from arena.conversation import Conversation
from arena.engine import Comparison
from arena.errors import InputError
from arena.pane import PaneSnapshot
from arena.request import Turn


@dataclass
class Shown:
    comparison: Comparison
    index: int  # the pane within the comparison
    chat: bool = False  # part of the conversation: follow-ups, again and clear apply
    earlier: tuple[Turn, ...] = ()  # the model's conversation before this answer, drawn above it
    origin: str = ""  # for chain steps: what it was made from
    picture: Image.Image | None = None  # for critiques: the picture critiqued, shown with the score
    images_shown: int = -1
    head_shown: str = ""  # the header and footer HTML last sent: a frame sends them again only when they change
    foot_shown: tuple = ()  # (status, steps, saved, error) when the footer was last sent

    @property
    def model(self) -> str:
        return self.comparison.jobs[self.index].name

    @property
    def asked(self) -> str:
        return self.comparison.jobs[self.index].request.prompt

    def snapshot(self) -> PaneSnapshot:
        return self.comparison.panes[self.index].snapshot()


@dataclass
class Board:
    slot_count: int
    session: str = "default"
    save: bool = True
    conversation: Conversation | None = None
    chain: DescribeThenDraw | None = None
    slots: list[Shown] = field(default_factory=list)
    draw_parent: str | None = None  # the answer the "text to draw" box was filled from
    editing: bool = False  # the last message was put back in the box: sending replaces it
    running: set[Comparison] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def place(self, comparison: Comparison, **how) -> dict[int, int]:
        """New slots after the shown ones for every pane of ``comparison``; returns pane index → slot."""
        with self.lock:
            free = self.slot_count - len(self.slots)
            if len(comparison.panes) > free:
                comparison.cancel()
                raise InputError(f"No room for {len(comparison.panes)} more pane(s): {self.slot_count} at most. "
                                 "Start a new conversation, or clear panes first.")
            start = len(self.slots)
            self.slots += [Shown(comparison, i, **how) for i in range(len(comparison.panes))]
            return {i: start + i for i in range(len(comparison.panes))}

    def replace(self, comparison: Comparison, earlier: dict[str, tuple[Turn, ...]]) -> dict[int, int]:
        """Follow-ups and regenerated answers take the slot their model's conversation is in."""
        placed = {}
        with self.lock:
            for index, job in enumerate(comparison.jobs):
                for slot, shown in enumerate(self.slots):
                    if shown.chat and shown.model == job.name:
                        self.slots[slot] = Shown(comparison, index, chat=True, earlier=earlier.get(job.name, ()))
                        placed[index] = slot
                        break
        return placed

    def stop(self) -> None:
        """Stop everything this board runs: a describe → draw chain's next step too."""
        if self.chain is not None:
            self.chain.cancel()
        for comparison in list(self.running):
            comparison.cancel()
