"""One prompt to many models at once. The UI, the CLI and the API all go through here.

Each selected model runs in its own thread and writes into its own pane; one slow, failing or hanging model
never holds up another. ``Comparison.updates()`` yields the panes that changed, as they change.
"""

from __future__ import annotations

import copy
import logging
import queue
import threading
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Iterator

from arena import errors
from arena.backends import Backend, BackendContext
from arena.backends.local import LocalModels
from arena.catalog import AvailabilityChecker, Catalog
from arena.context_budget import fit_context
from arena.errors import InputError
from arena.lineage import NO_LINEAGE, Lineage
from arena.pane import Pane, PaneClosed, PaneSnapshot, Status
from arena.request import Request
from arena.settings import Settings
from arena.workers import Workers

if TYPE_CHECKING:
    from arena.store import Store
    from arena.users import UsersFile

log = logging.getLogger(__name__)

MAX_MODELS = 12
MAX_PROMPT_CHARS = 100_000
# After Stop, a pane whose backend has not returned within this long is shown as cancelled anyway.
CANCEL_GRACE_S = 1.0
# Each pane runs on one of these; a pane never waits for another's worker (see arena/workers.py).
_PANE_WORKERS = Workers("pane")


class Engine:
    def __init__(self, catalog: Catalog, settings: Settings, store: "Store | None" = None):
        self.catalog = catalog
        self.settings = settings
        self.store = store
        self.availability = AvailabilityChecker(catalog=catalog)
        self.local = LocalModels(settings.local_memory_bytes, settings.offline_models_dir)
        self._backends: dict[str, Backend] = {}
        self._lock = threading.Lock()
        self.users: "UsersFile | None" = None  # where people sign in by name (the web app's --users)
        self.user_name: str | None = None  # whose work this engine starts: see signed_in

    def signed_in(self, user_name: str | None) -> "Engine":
        """This engine, recording what it starts as ``user_name``'s (the same catalog, store and loaded models)."""
        if not user_name or user_name == self.user_name:
            return self
        view = copy.copy(self)
        view.user_name = str(user_name)
        return view

    def backend(self, name: str) -> Backend:
        with self._lock:
            if name in self._backends:
                return self._backends[name]
        # Imported outside the engine's lock: torch and transformers take seconds to import, and an API model's
        # pane must not wait for them.
        entry = self.catalog[name]
        kind = entry.backend
        kind.import_libraries()
        with self._lock:
            if name not in self._backends:
                self._backends[name] = kind(entry, BackendContext(settings=self.settings, local=self.local))
            return self._backends[name]

    def libraries_loaded(self, name: str) -> bool:
        """Whether the backend of ``name`` is ready to use without importing anything more."""
        with self._lock:
            if name in self._backends:
                return True
        return self.catalog[name].backend.libraries_imported()

    def check(self, request: Request, names: list[str]) -> list[str]:
        """The model names to run, or InputError before any model is called."""
        if not request.prompt or not request.prompt.strip():
            raise InputError("Type a prompt first.")
        if len(request.prompt) > MAX_PROMPT_CHARS:
            raise InputError(f"The prompt is {len(request.prompt):,} characters; the limit is {MAX_PROMPT_CHARS:,}.")
        names = list(dict.fromkeys(n.strip() for n in names if n and n.strip()))
        if not names:
            raise InputError("Pick at least one model.")
        unknown = [n for n in names if n not in self.catalog]
        if unknown:
            raise InputError(
                f"Unknown model{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}. "
                f"Known: {', '.join(self.catalog.names())}."
            )
        if len(names) > MAX_MODELS:
            raise InputError(f"{len(names)} models picked; at most {MAX_MODELS} run at once.")
        return names

    def start(self, request: Request, names: list[str], *, save: bool = True,
              lineage: Lineage = NO_LINEAGE) -> "Comparison":
        """Start every model; with a store and ``save``, each finished pane is kept in the gallery.

        ``lineage`` is recorded with each output.
        """
        names = self.check(request, names)
        return Comparison(self, [Job(name, request, lineage) for name in names], self.store if save else None)

    def start_each(self, jobs: list["Job"], *, save: bool = True) -> "Comparison":
        """Start several jobs side by side, each with its own request and lineage (conversations, chains).

        The same model may appear more than once (one generator drawing two descriptions)."""
        if not jobs:
            raise InputError("Nothing to run: pick at least one model.")
        if len(jobs) > MAX_MODELS:
            raise InputError(f"{len(jobs)} panes asked for; at most {MAX_MODELS} run at once.")
        for job in jobs:
            self.check(job.request, [job.name])
        return Comparison(self, jobs, self.store if save else None)

    def close(self) -> None:
        with self._lock:
            backends, self._backends = list(self._backends.values()), {}
        for backend in backends:
            backend.close()
        self.local.unload_all()


@dataclass(frozen=True)
class Job:
    """One pane's work: a model, what it is asked, and the lineage its output records."""

    name: str
    request: Request
    lineage: Lineage = field(default_factory=Lineage)


def _signed(job: Job, user_name: str | None) -> Job:
    """The job, its request recording who started it (where people sign in)."""
    if user_name is None or job.request.user_name:
        return job
    return replace(job, request=replace(job.request, user_name=user_name))


def _not_saved(failure: Exception) -> str:
    """Why an output is not in the gallery, in one sentence for its pane."""
    return f"not saved in the gallery: {errors.describe(failure)}"


class Comparison:
    def __init__(self, engine: Engine, jobs: list[Job], store: "Store | None" = None):
        self.engine = engine
        self.jobs = [_signed(job, engine.user_name) for job in jobs]
        self.request = self.jobs[0].request
        self.store, self.id, self._unsaved = store, None, None
        if store is not None:
            try:
                self.id = store.start_comparison(self.request, [job.name for job in jobs])
            except Exception as failure:  # a bucket or database down: the models still answer, unsaved
                log.warning("could not save the comparison: %s", errors.describe(failure))
                self.store, self._unsaved = None, _not_saved(failure)
        self._changes: queue.SimpleQueue[int] = queue.SimpleQueue()
        self.panes = [Pane(i, engine.catalog[job.name], self._changes.put) for i, job in enumerate(jobs)]
        self._ended = threading.Event()  # set once every pane is settled
        self.started_at = time.monotonic()
        self._cancel_requested_at: float | None = None
        self._returned = [_PANE_WORKERS.run(self._run, pane, name=f"pane-{pane.entry.name}") for pane in self.panes]

    # --- public ----------------------------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """Every pane has ended and its output is stored."""
        return all(pane.settled for pane in self.panes)

    def snapshots(self) -> list[PaneSnapshot]:
        return [pane.snapshot() for pane in self.panes]

    def cancel(self) -> None:
        if self._cancel_requested_at is None:
            self._cancel_requested_at = time.monotonic()
        for pane in self.panes:
            pane.cancelled.set()
        self._changes.put(-1)

    def updates(self, poll_s: float = 0.1, frame_s: float = 0.0, tick_s: float | None = None) -> Iterator[set[int]]:
        """Yield the indices of panes that changed, batched, until every pane has ended.

        With ``frame_s``, at most one batch per frame: a page redrawn at a steady rate with every pane that changed
        since the last frame costs far less than one redraw per streamed chunk. With ``tick_s``, an empty set
        comes at least that often (for clocks that move while nothing else does)."""
        next_frame = 0.0
        last = time.monotonic()
        while True:
            wait = next_frame - time.monotonic()
            if wait > 0 and not self._cancelling():
                self._ended.wait(wait)
            changed: set[int] = set()
            try:
                changed.add(self._changes.get(timeout=poll_s))
                while True:
                    changed.add(self._changes.get_nowait())
            except queue.Empty:
                pass
            self._enforce_deadlines()
            while True:  # deadlines may have ended panes
                try:
                    changed.add(self._changes.get_nowait())
                except queue.Empty:
                    break
            changed.discard(-1)
            now = time.monotonic()
            if changed or tick_s is not None and now - last >= tick_s:
                next_frame, last = now + frame_s, now
                yield changed
            if self.finished:
                return

    def _cancelling(self) -> bool:
        return self._cancel_requested_at is not None

    def wait(self, poll_s: float = 0.1) -> list[PaneSnapshot]:
        """Every pane once it has ended and its output is stored. Wakes once at the end (and each ``poll_s`` for
        the time limits), not at each change as ``updates()`` does: a suite's worker waits on hundreds of panes."""
        while not self._ended.wait(poll_s):
            self._enforce_deadlines()
        return self.snapshots()

    def join_backends(self, timeout_s: float) -> bool:
        """Wait for the backend threads themselves to return (after cancel, local generation must stop)."""
        deadline = time.monotonic() + timeout_s
        return all(returned.wait(max(0.0, deadline - time.monotonic())) for returned in self._returned)

    # --- internals -------------------------------------------------------------------------------------------

    def _run(self, pane: Pane) -> None:
        entry = pane.entry
        pane.start()
        try:
            availability = self.engine.availability.check(entry)
            if not availability.ok:
                self._end(pane, "error", f"unavailable: {availability.reason}")
                return
            request = self.jobs[pane.index].request
            if request.has_images and not entry.image_input:
                what = "The images were" if request.history and entry.output == "text" else "The image was"
                pane.notice(
                    f"{what} not sent: {entry.name} takes text only."
                    if entry.output == "text" else f"{what} not sent: {entry.name} draws from text only."
                )
                request = request.without_image()
            if request.history:
                request, cut = fit_context(request, entry.context_tokens)
                if cut:
                    pane.notice(cut)
            if pane.cancelled.is_set():
                self._end(pane, "cancelled")
                return
            if entry.is_local and not self.engine.libraries_loaded(entry.name):
                pane.activity("loading libraries…")
            self.engine.backend(entry.name).generate(request, pane)
            self._end(pane, "cancelled" if pane.cancelled.is_set() else "done")
        except PaneClosed:
            self._end(pane, "cancelled")
        except BaseException as error:  # a backend's failure belongs to its pane alone
            if pane.cancelled.is_set():
                self._end(pane, "cancelled")
            else:
                log.info("%s failed: %s", entry.name, errors.describe(error))
                self._end(pane, "error", errors.describe(error))

    def _end(self, pane: Pane, status: Status, error: str | None = None) -> None:
        """End the pane once (the backend thread and the deadline watcher may race), then store its output."""
        if not pane.finish(status, error):
            return
        record_id = unsaved = None
        snapshot = pane.snapshot()
        empty = not snapshot.text.strip() and not snapshot.images
        keep = not (status == "cancelled" and empty)  # a stop before any output: nothing kept
        if self.store is not None and keep:
            try:
                job = self.jobs[pane.index]
                record_id = self.store.save_output(self.id, snapshot, job.request, pane.entry,
                                                   pane.entry.backend.library_versions(), job.lineage).id
            except Exception as failure:  # a full disk or a server down must not take the answer off the screen
                log.warning("could not save %s's output: %s", pane.entry.name, errors.describe(failure))
                unsaved = _not_saved(failure)
        elif keep:
            unsaved = self._unsaved
        pane.settle(record_id, unsaved)
        if all(p.settled for p in self.panes):
            self._ended.set()

    def _enforce_deadlines(self) -> None:
        now = time.monotonic()
        for pane in self.panes:
            if pane.finished:
                continue
            if self._cancel_requested_at is not None and now - self._cancel_requested_at >= CANCEL_GRACE_S:
                self._end(pane, "cancelled")
            elif pane.started_at is not None and now - pane.started_at > pane.entry.timeout_s:
                pane.cancelled.set()
                self._end(pane, "error", f"timed out after {pane.entry.timeout_s:g} s")
