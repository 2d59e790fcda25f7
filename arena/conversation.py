"""Multi-turn chat with several models at once: each model keeps its own history and sees only its own answers.

A follow-up goes to every model of the conversation; one model's last answer can be made again (regenerate, or
retry after an error) without resending the others. Each answer is stored in the gallery as it ends, its
``parent_id`` pointing at the same model's answer before it, so a conversation reads back turn by turn.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from arena.engine import Comparison, Engine, Job
from arena.errors import InputError
from arena.lineage import Lineage
from arena.request import GenerationParams, Request, Turn

if TYPE_CHECKING:
    from arena.images import InputImage

# Local models decode greedily when no temperature is set, so a regenerated answer would repeat the last one word
# for word: regenerating samples at this temperature (unless one is set), with a fresh seed.
REGENERATE_TEMPERATURE = 0.7


@dataclass
class ModelHistory:
    """One model's side of the conversation."""

    model: str
    turns: list[Turn] = field(default_factory=list)
    last_output_id: str | None = None
    # The last message sent and not yet answered well (kept for retry and regenerate).
    asked: Turn | None = None
    answered: bool = False


class Conversation:
    def __init__(self, engine: Engine, models: list[str], *, save: bool = True, battle_id: str | None = None):
        self.engine = engine
        self.save = save
        self.battle_id = battle_id  # the blind battle whose sides these are (the gallery hides them until its vote)
        text_models = [m for m in models if m in engine.catalog and engine.catalog[m].output == "text"]
        self.histories: dict[str, ModelHistory] = {m: ModelHistory(m) for m in dict.fromkeys(text_models)}
        self.order = list(models)  # panes keep the order the models were picked in
        self.params = GenerationParams()
        self._lock = threading.Lock()
        self._asking: list[Comparison] = []
        self.sent = 0  # messages sent to the conversation so far
        self._last: Turn | None = None

    @property
    def models(self) -> list[str]:
        return list(self.histories)

    def send(self, prompt: str, image: "InputImage | None" = None, params: GenerationParams | None = None,
             models: list[str] | None = None, also: list[str] = ()) -> Comparison:
        """A message to every model of the conversation (or some of them), each with its own history.

        ``also`` names models outside the conversation that get the message alone (the image generators of a
        first message draw it)."""
        self._not_busy(models or self.models)
        targets = [m for m in (models or self.models) if m in self.histories]
        if not targets and not also:
            raise InputError("No text model in this conversation: start one with a prompt first.")
        self.params = params or self.params
        message = Turn("user", prompt, image)
        self.sent += 1
        self._last = message
        with self._lock:
            for model in targets:
                history = self.histories[model]
                history.asked, history.answered = message, False
        return self._ask(targets, [m for m in also if m not in self.histories], message)

    def again(self, model: str) -> Comparison:
        """Ask ``model`` its last message again: a new answer replaces the one shown (regenerate), or one that
        failed is tried again (retry). The other models are not asked anything."""
        history = self.histories.get(model)
        if history is None or history.asked is None:
            raise InputError(f"{model} has no message to answer again.")
        self._not_busy([model])
        with self._lock:
            if history.answered:
                del history.turns[-2:]
                history.answered = False
        return self._ask([model], fresh=True)

    def last_message(self) -> Turn | None:
        """The message sent last, to be edited and sent again."""
        return self._last

    def drop_last(self) -> Turn | None:
        """Take back the last message and every answer to it, so that an edited one can take its place."""
        busy = {job.name for comparison in self._asking if not comparison.finished for job in comparison.jobs}
        if busy:
            raise InputError(f"Still answering: {', '.join(sorted(busy))}. Wait, or Stop, first.")
        with self._lock:
            for history in self.histories.values():
                if history.asked is not self._last:
                    continue
                if history.answered:
                    del history.turns[-2:]
                history.asked, history.answered = None, False
            last, self._last = self._last, None
            self.sent = max(0, self.sent - 1)
        return last

    def clear(self, model: str | None = None) -> None:
        """Forget one model's history, or everyone's (a new conversation)."""
        with self._lock:
            for history in [self.histories[model]] if model else self.histories.values():
                history.turns.clear()
                history.asked, history.answered, history.last_output_id = None, False, None

    def record(self, comparison: Comparison) -> None:
        """Add each model's finished answer to its own history. An error or a stop adds nothing."""
        with self._lock:
            for job, pane in zip(comparison.jobs, comparison.snapshots(), strict=True):
                history = self.histories.get(job.name)
                if history is None or pane.status != "done" or history.asked is None or history.answered:
                    continue
                history.turns += [history.asked, Turn("assistant", pane.text)]
                history.answered = True
                history.last_output_id = pane.record_id or history.last_output_id

    def _not_busy(self, models: list[str]) -> None:
        """A model still answering would get its next message before its answer joins its history."""
        busy = {job.name for comparison in self._asking if not comparison.finished for job in comparison.jobs}
        if busy & set(models):
            raise InputError(f"Still answering: {', '.join(sorted(busy & set(models)))}. Wait, or Stop, first.")

    def _sampling(self, model: str) -> GenerationParams:
        """The parameters for another answer from ``model``: a local model samples, with a fresh seed."""
        entry = self.engine.catalog[model]
        if not entry.is_local:
            return self.params  # API models sample by default
        update: dict = {"seed": random.randrange(2**32)}
        if self.params.temperature is None and entry.params.temperature is None:
            update["temperature"] = REGENERATE_TEMPERATURE
        return self.params.model_copy(update=update)

    def history(self, model: str) -> list[Turn]:
        return list(self.histories[model].turns)

    def _ask(self, models: list[str], also: list[str] = (), message: Turn | None = None,
             fresh: bool = False) -> Comparison:
        jobs = []
        with self._lock:
            for model in models:
                history = self.histories[model]
                params = self._sampling(model) if fresh else self.params
                request = Request(history.asked.text, history.asked.image, params, history=tuple(history.turns))
                jobs.append(Job(model, request, Lineage(parent_id=history.last_output_id, battle_id=self.battle_id)))
        jobs += [Job(model, Request(message.text, message.image, self.params), Lineage(battle_id=self.battle_id))
                 for model in also]
        place = {model: number for number, model in enumerate(self.order)}
        jobs.sort(key=lambda job: place.get(job.name, len(place)))
        comparison = self.engine.start_each(jobs, save=self.save)
        self._asking = [c for c in self._asking if not c.finished] + [comparison]
        return comparison
