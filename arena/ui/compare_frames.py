"""The frames a Compare stream sends to the page: each pane slot's header, text, picture, footer and buttons,
the Run/Stop state and the progress line, and, per session, what the page shows already so that a frame
carries only what changed."""

from __future__ import annotations

import time
from dataclasses import dataclass

import gradio as gr

from arena.chains import parse_score
from arena.engine import Comparison
from arena.pane import PaneSnapshot
from arena.ui import panes as look
from arena.ui.board import Board


@dataclass
class PaneSlot:
    column: gr.Column
    header: gr.HTML
    image: gr.Image
    text: gr.HTML
    footer: gr.HTML
    again: gr.Button
    clear: gr.Button
    chain: gr.Button
    widen: gr.Button


class Frames:
    """Updates for the pane slots and the run state, sent only where the session's page does not show them yet.

    Every property update costs Gradio a new component and its API schema (milliseconds each), and so does an
    output a frame leaves out: for 12 panes, about a hundred per frame. So a frame repeats the cheap values
    (text, labels) it last sent and sends property updates only when they change what the page shows."""

    def __init__(self, slots: list[PaneSlot], message: gr.Markdown, run_state: list[gr.Button], outputs: list):
        self.slots = slots
        self.message = message
        self.run_button, self.describe_draw_button, self.stop_button = run_state
        self.outputs = outputs
        pane_outputs = [c for s in slots for c in (s.header, s.image, s.text, s.footer, s.again, s.clear, s.chain)]
        # What each of these shows at first.
        self._initial = {c._id: c.value if isinstance(c, gr.Button) else None if isinstance(c, gr.Image) else ""
                         for c in [message, *run_state, *pane_outputs]}
        self._sent: dict[str, dict] = {}  # per session: component id → the properties the page shows
        self._last: dict[str, dict] = {}  # per session: component id → the value the page shows (see complete)

    def busy(self, running: bool, board: Board | None = None) -> dict:
        """Run and Describe, then draw are off, and Stop on, only while something runs."""
        updates: dict = {}
        for button, on in ((self.run_button, not running), (self.describe_draw_button, not running),
                           (self.stop_button, running)):
            self._set(board, updates, button, on, gr.Button, button.value, interactive=on)
        return updates

    def forget(self, session: str, *components) -> None:
        """After a handler that sets these components itself (clear, new conversation): send them again."""
        for cache in (self._sent, self._last):
            for component in components:
                cache.get(session, {}).pop(component._id, None)

    def drop(self, session: str) -> None:
        """The session ended: nothing is kept of what its page showed."""
        self._sent.pop(session, None)
        self._last.pop(session, None)

    def complete(self, board: Board, frame: dict) -> dict:
        """``frame`` with every output it leaves out that can be repeated cheaply (text, labels) set to what the
        page shows already."""
        last = self._last.setdefault(board.session, dict(self._initial))
        for component, value in frame.items():
            if component._id not in last:
                continue
            if isinstance(value, str):
                last[component._id] = value
            elif isinstance(value, gr.Button) and isinstance(value.constructor_args.get("value"), str):
                last[component._id] = value.constructor_args["value"]
            elif isinstance(value, gr.Image) and value.constructor_args.get("value") is None:
                last[component._id] = None
            else:  # a picture: sent again only when it changes
                last.pop(component._id)
        return {**{c: last[c._id] for c in self.outputs if c._id in last}, **frame}

    def show(self, board: Board, slots, whole: bool = False, timers=()) -> dict:
        """Updates for the panes in ``slots``; for those in ``timers``, the header and footer (the clock)."""
        updates = {}
        for index in sorted(set(timers) | set(slots)):
            shown = board.slots[index]
            pane = shown.snapshot()
            ui = self.slots[index]
            # A streaming pane's metrics change with every token: its footer goes out with the clock (timers),
            # or when something a reader waits for changes (status, a step, the record, an error).
            head = look.header_html(pane, shown.origin)
            if whole or head != shown.head_shown:
                updates[ui.header] = shown.head_shown = head
            foot = (pane.status, pane.steps_done, pane.record_id, pane.error, pane.unsaved)
            if whole or index in timers or foot != shown.foot_shown:
                updates[ui.footer] = look.footer_html(pane)
                shown.foot_shown = foot
            if index not in slots:
                continue
            updates[ui.text] = look.body_html(pane, shown.earlier, shown.asked)
            if whole or len(pane.images) != shown.images_shown:
                self._picture(board, updates, ui.image, shown, pane)
                shown.images_shown = len(pane.images)
            if whole and pane.finished:  # while a pane runs, the page hides its buttons itself (panes.CSS)
                ended = True
                kept = bool(pane.images) or bool(pane.text.strip())
                again = "↻ Retry" if pane.status == "error" or pane.status == "cancelled" and not kept \
                    else "↻ Regenerate"
                chat = shown.chat and ended
                self._set(board, updates, ui.again, (again, chat), gr.Button, again, visible=chat)
                self._set(board, updates, ui.clear, chat, gr.Button, "Clear", visible=chat)
                can_chain = ended and pane.status in ("done", "cancelled") and kept
                label = "Critique this" if pane.images else "Draw this"
                self._set(board, updates, ui.chain, (label, can_chain),
                          gr.Button, label, visible=can_chain)
        return updates

    def _picture(self, board: Board, updates: dict, image: gr.Image, shown, pane: PaneSnapshot) -> None:
        if pane.images:
            picture = pane.images[-1]
            self._set(board, updates, image, ("picture", id(picture)),
                      picture_update, image, picture, visible=True, show_label=False)
        elif shown.picture is not None:  # a critique: the picture it judged, with the score when it gives one
            score = parse_score(pane.text) if pane.finished else None
            label = f"score {score:g}/10 · {pane.model}" if score is not None else "the picture critiqued"
            self._set(board, updates, image, ("critiqued", id(shown.picture), label),
                      picture_update, image, shown.picture, visible=True, label=label, show_label=True)
        else:
            visible = pane.output == "image"
            self._set(board, updates, image, ("empty", visible),
                      gr.Image, value=None, visible=visible, show_label=False)

    def _set(self, board: Board | None, updates: dict, component, key, make, *args, **props) -> None:
        """Put ``make(*args, **props)`` in ``updates`` unless the page already shows ``key`` for ``component``."""
        sent = self._sent.setdefault(board.session, {}) if board is not None else {}
        if sent.get(component._id, _UNSENT) != key:
            sent[component._id] = key
            updates[component] = make(*args, **props)


_UNSENT = object()


def picture_update(image: gr.Image, picture, **props) -> dict:
    """``image`` showing ``picture``, as Gradio's postprocessing would send it (a PNG in Gradio's cache): the
    streaming events leave that out (postprocess=False), so their values must be what the page takes as is."""
    return gr.update(value=image.postprocess(picture).model_dump(), **props)


def progress(comparisons: list[Comparison]) -> str:
    """The overall progress line while panes stream: "2 of 3 done · 4.1 s"."""
    panes = [pane for comparison in comparisons for pane in comparison.panes]
    done = sum(pane.finished for pane in panes)
    return f"{done} of {len(panes)} done · {time.monotonic() - comparisons[0].started_at:.1f} s"


def summary(comparisons: list[Comparison]) -> str:
    counts: dict[str, int] = {}
    for comparison in comparisons:
        for pane in comparison.snapshots():
            counts[pane.status] = counts.get(pane.status, 0) + 1
    words = {"done": "done", "error": "failed", "cancelled": "stopped"}
    took = time.monotonic() - comparisons[0].started_at
    return "Finished: " + ", ".join(f"{n} {words.get(s, s)}" for s, n in counts.items()) + f". Took {took:.1f} s."
