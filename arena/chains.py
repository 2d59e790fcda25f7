"""Chains between models: a text model's answer drawn by image generators, a picture critiqued by vision models.

Every output a chain makes records its parent output (``parent_id``), so the gallery can show the whole chain:
prompt → description → picture → critique.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from arena.engine import MAX_MODELS, Comparison, Engine, Job
from arena.errors import InputError
from arena.lineage import Lineage
from arena.request import GenerationParams, Request

if TYPE_CHECKING:
    from arena.images import InputImage

DESCRIBE_PROMPT = ("Describe the picture you would draw of “{prompt}”, in a few sentences, so that an illustrator "
                   "could draw it. Answer with the description only.")
CRITIQUE_PROMPT = "Does this picture match the prompt “{prompt}”? Score it from 1 to 10 and say why."
CRITIQUE_PROMPT_ALONE = "How good is this picture? Score it from 1 to 10 and say why."
# Image APIs take prompts of a few thousand characters at most; CLIP-based pipelines read the first 77 tokens.
MAX_DRAW_PROMPT = 4000

_SCORE = [
    re.compile(r"\b(10|[0-9](?:\.[0-9])?)\s*(?:/|out of)\s*10\b", re.IGNORECASE),
    re.compile(r"\bscore\b\s*(?:is|of|:|=|-|–)?\s*(10|[0-9](?:\.[0-9])?)\b(?!\s*(?:to|-|–)\s*10)", re.IGNORECASE),
]


def parse_score(text: str) -> float | None:
    """The 1–10 score an answer gives, if it gives one ("7/10", "7 out of 10", "Score: 7")."""
    for pattern in _SCORE:
        match = pattern.search(text or "")
        if match:
            return float(match.group(1))
    return None


def critique_prompt(template: str | None, prompt: str | None) -> str:
    if template and template.strip():
        return template.replace("{prompt}", prompt or "")
    return CRITIQUE_PROMPT.format(prompt=prompt) if prompt else CRITIQUE_PROMPT_ALONE


def draw_jobs(engine: Engine, text: str, drawers: list[str], params: GenerationParams | None = None,
              parent_id: str | None = None) -> list[Job]:
    """Each image generator draws ``text`` (a description, perhaps edited)."""
    text = " ".join((text or "").split())[:MAX_DRAW_PROMPT]
    if not text:
        raise InputError("There is no text to draw: the answer is empty.")
    _expect(engine, drawers, "image", "draw")
    request = Request(text, params=params or GenerationParams())
    return [Job(name, request, Lineage(parent_id=parent_id)) for name in drawers]


def critique_jobs(engine: Engine, picture: "InputImage", prompt: str, critics: list[str],
                  parent_id: str | None = None, params: GenerationParams | None = None) -> list[Job]:
    """Each vision-language model gets the picture and the critique prompt."""
    _expect(engine, critics, "text", "critique")
    blind = [name for name in critics if not engine.catalog[name].image_input]
    if blind:
        raise InputError(f"{', '.join(blind)} cannot see images; pick vision-language models to critique.")
    request = Request(prompt, picture, params or GenerationParams())
    return [Job(name, request, Lineage(parent_id=parent_id)) for name in critics]


def _expect(engine: Engine, names: list[str], output: str, verb: str) -> None:
    if not names:
        raise InputError(f"Pick at least one model to {verb} with.")
    unknown = [name for name in names if name not in engine.catalog]
    if unknown:
        raise InputError(f"Unknown model{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}.")
    wrong = [name for name in names if engine.catalog[name].output != output]
    if wrong:
        kind = "image generators" if output == "image" else "text models"
        raise InputError(f"Only {kind} can {verb}: {', '.join(wrong)} cannot.")


@dataclass
class DescribeThenDraw:
    """From one prompt: each text model describes the picture, then each generator draws each description.

    ``describe()`` starts the first step; once it has ended, ``draw()`` starts the second. ``cancel()`` stops the
    step running and keeps the next from starting; what finished is kept."""

    engine: Engine
    prompt: str
    describers: list[str]
    drawers: list[str]
    image: "InputImage | None" = None
    params: GenerationParams = field(default_factory=GenerationParams)
    template: str = DESCRIBE_PROMPT
    save: bool = True
    steps: list[Comparison] = field(default_factory=list)
    # For each pane of the drawing step: the model whose description it draws.
    drawn_from: list[str] = field(default_factory=list)
    _cancelled: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        if not self.prompt or not self.prompt.strip():
            raise InputError("Type a prompt first.")
        _expect(self.engine, self.describers, "text", "describe")
        _expect(self.engine, self.drawers, "image", "draw")
        # The whole plan is checked before any model is called: a drawing step too large for the panes would
        # otherwise fail only after every description had been made and stored.
        self.engine.check(Request(self.template.replace("{prompt}", self.prompt), self.image, self.params),
                          self.describers)
        panes = len(self.describers) * len(self.drawers)
        if panes > MAX_MODELS:
            raise InputError(f"{len(self.describers)} describers × {len(self.drawers)} generators make {panes} "
                             f"pictures; at most {MAX_MODELS} run at once.")

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def describe(self) -> Comparison:
        request = Request(self.template.replace("{prompt}", self.prompt), self.image, self.params)
        step = self.engine.start_each([Job(name, request) for name in self.describers], save=self.save)
        self.steps.append(step)
        return step

    def draw(self) -> Comparison | None:
        """Every generator on every description that came back; None if there is none, or after cancel."""
        descriptions = [pane for pane in self.steps[0].snapshots() if pane.status == "done" and pane.text.strip()]
        if self.cancelled or not descriptions:
            return None
        jobs = [job for pane in descriptions
                for job in draw_jobs(self.engine, pane.text, self.drawers, self.params, pane.record_id)]
        step = self.engine.start_each(jobs, save=self.save)
        self.drawn_from = [pane.model for pane in descriptions for _ in self.drawers]
        self.steps.append(step)
        return step

    def run(self) -> list[Comparison]:
        """Both steps, waiting for each (the CLI and the API)."""
        self.describe().wait()
        drawing = self.draw()
        if drawing is not None:
            drawing.wait()
        return self.steps

    def cancel(self) -> None:
        self._cancelled.set()
        for step in self.steps:
            step.cancel()
