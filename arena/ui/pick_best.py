""""Pick the best" under a finished comparison: named votes from Compare.

The picked pane wins against each other finished pane of the same kind (text against text, pictures against
pictures); "All equally good" makes every such pair a tie, "All equally bad" a both-bad. The person saw the
names, so these votes are stored as named votes (voter kind people_named), apart from blind battles.
"""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Callable

import gradio as gr

from arena.errors import InputError
from arena.pane import PaneSnapshot
from arena.ui.words import md

GOOD, BAD = "all-good", "all-bad"


def pick_pairs(panes: list[PaneSnapshot], picked) -> list[tuple[PaneSnapshot, PaneSnapshot, str]]:
    """(pane, other pane, outcome from the first's side) for a pick: a pane's index, GOOD or BAD.

    Only finished answers kept in the gallery take part, and only against answers of the same kind."""
    done = [p for p in panes if p.status == "done" and p.record_id]
    if picked in (GOOD, BAD):
        outcome = "tie" if picked == GOOD else "bothbad"
        return [(a, b, outcome) for a, b in itertools.combinations(done, 2) if a.output == b.output]
    best = next((p for p in done if p.index == picked), None)
    if best is None:
        raise InputError("Pick one of the finished answers.")
    return [(best, other, "a") for other in done if other is not best and other.output == best.output]


def pickable(panes: list[PaneSnapshot]) -> list[PaneSnapshot]:
    """The finished answers a pick can name: those with another finished answer of the same kind beside them."""
    done = [p for p in panes if p.status == "done" and p.record_id]
    kinds = Counter(p.output for p in done)
    return [p for p in done if kinds[p.output] >= 2]


def record_pick(votes, panes: list[PaneSnapshot], picked, voter: str, prompt: str = "") -> list:
    pairs = pick_pairs(panes, picked)
    if not pairs:
        raise InputError("Nothing to compare it with: a pick needs two finished answers of the same kind.")
    if votes is None:
        raise InputError("Votes are kept in the gallery's database, and the store is off.")
    words = {"a": "picked as the best", "tie": "all equally good", "bothbad": "all equally bad"}
    return [votes.add(battle_id=f"pick-{a.record_id}-{b.record_id}", kind=a.output, model_a=a.model,
                      model_b=b.model, outcome=outcome, reason=f"Compare: {words[outcome]} of {len(panes)}",
                      output_a=a.record_id, output_b=b.record_id, text_a=a.text, text_b=b.text, prompt=prompt,
                      suite=None, case_id=None, voter=voter, voter_kind="people_named")
            for a, b, outcome in pairs]


class PickBest:
    """The row under Compare's panes. ``board_of(request)`` gives the session's board (its slots' snapshots)."""

    def __init__(self, engine, board_of: Callable, votes=None):
        from arena.battles.battle import default_votes

        self.engine = engine
        self.board_of = board_of
        self.votes = votes if votes is not None else default_votes(engine)

    def build(self) -> None:
        with gr.Row(equal_height=True, elem_id="pick-best"):
            self.open_button = gr.Button("Pick the best…", size="sm", scale=0, min_width=140,
                                         elem_id="pick-best-open")
            self.choice = gr.Radio(label="The best answer (named vote: you see the names)", choices=[],
                                   visible=False, scale=4, elem_id="pick-best-choice")
            self.record_button = gr.Button("Record my pick", size="sm", variant="primary", visible=False, scale=0,
                                           min_width=140, elem_id="pick-best-record")
        self.message = gr.Markdown(elem_id="pick-best-message")
        self.voter = gr.BrowserState("", storage_key="arena-battle-voter")
        private = dict(api_visibility="private", show_progress="hidden")
        self.open_button.click(self.open, None, [self.choice, self.record_button, self.message], **private)
        self.record_button.click(self.record, [self.choice, self.voter],
                                 [self.choice, self.record_button, self.message, self.voter], **private)

    def _panes(self, request) -> list[PaneSnapshot]:
        board = self.board_of(request)
        shown = list(getattr(board, "slots", None) or [])
        return [replace_index(slot.snapshot(), number) for number, slot in enumerate(shown)]

    def open(self, request: gr.Request):
        panes = self._panes(request)
        if not panes or not all(p.finished for p in panes):
            return gr.Radio(visible=False), gr.Button(visible=False), \
                "Run a comparison and wait until it has finished, then pick the best."
        choices = [(f"{p.index + 1} · {p.model}", p.index) for p in pickable(panes)]
        if not choices:
            return gr.Radio(visible=False), gr.Button(visible=False), \
                "A pick needs two finished answers of the same kind (two texts, or two pictures) to compare."
        choices += [("All equally good", GOOD), ("All equally bad", BAD)]
        offered = {index for _, index in choices}
        alone = [f"{p.index + 1} · {md(p.model)}" for p in panes
                 if p.status == "done" and p.record_id and p.index not in offered]
        note = (f"Not offered: {', '.join(alone)} (no other finished answer of the same kind to compare with)."
                if alone else "")
        return gr.Radio(choices=choices, value=None, visible=True), gr.Button(visible=True), note

    def record(self, picked, voter, request: gr.Request):
        from arena.ui.battle import voter_name

        voter = voter_name(request, voter)
        try:
            if picked is None or picked == "":
                raise InputError("Choose the best answer first (or all equally good / bad).")
            panes = self._panes(request)
            if not panes or not all(p.finished for p in panes):
                raise InputError("Wait until every pane has finished.")
            prompt = getattr(getattr(self.board_of(request), "slots", [None])[0], "asked", "")
            stored = record_pick(self.votes, panes, picked, voter, prompt)
        except InputError as error:
            return gr.skip(), gr.skip(), f"**Not recorded:** {md(error)}", voter
        said = f"Recorded {len(stored)} named vote{'s' if len(stored) != 1 else ''}"
        signed_in = getattr(request, "username", None)  # else the voter is this browser's own random id: not shown
        return (gr.Radio(visible=False), gr.Button(visible=False),
                f"{said} as {md(voter)}." if signed_in else f"{said}.", voter)


def replace_index(pane: PaneSnapshot, index: int) -> PaneSnapshot:
    """The snapshot numbered by its place on the page (slots hold panes of several comparisons)."""
    from dataclasses import replace

    return replace(pane, index=index)


__all__ = ["BAD", "GOOD", "PickBest", "pick_pairs", "pickable", "record_pick"]
