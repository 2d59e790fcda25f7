"""One prompt to many models at once. The UI, the CLI and the API all go through here.

Each selected model runs in its own thread and writes into its own pane; one slow, failing or hanging model
never holds up another. ``Comparison.updates()`` yields the panes that changed, as they change.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Iterator

from arena import errors
from arena.backends import Backend, BackendContext, backend_class
from arena.backends.local import LocalModels
from arena.catalog import AvailabilityChecker, Catalog
from arena.errors import InputError
from arena.pane import Pane, PaneClosed, PaneSnapshot
from arena.request import Request
from arena.settings import Settings

log = logging.getLogger(__name__)

MAX_MODELS = 12
MAX_PROMPT_CHARS = 100_000
# After Stop, a pane whose backend has not returned within this long is shown as cancelled anyway.
CANCEL_GRACE_S = 1.0


class Engine:
    def __init__(self, catalog: Catalog, settings: Settings):
        self.catalog = catalog
        self.settings = settings
        self.availability = AvailabilityChecker()
        self.local = LocalModels(settings.local_memory_bytes, settings.offline_models_dir)
        self._backends: dict[str, Backend] = {}
        self._lock = threading.Lock()

    def backend(self, name: str) -> Backend:
        with self._lock:
            if name not in self._backends:
                entry = self.catalog[name]
                context = BackendContext(settings=self.settings, local=self.local)
                self._backends[name] = backend_class(entry.kind)(entry, context)
            return self._backends[name]

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

    def start(self, request: Request, names: list[str]) -> "Comparison":
        names = self.check(request, names)
        return Comparison(self, request, names)

    def close(self) -> None:
        with self._lock:
            backends, self._backends = list(self._backends.values()), {}
        for backend in backends:
            backend.close()
        self.local.unload_all()


class Comparison:
    def __init__(self, engine: Engine, request: Request, names: list[str]):
        self.engine = engine
        self.request = request
        self._changes: queue.SimpleQueue[int] = queue.SimpleQueue()
        self.panes = [Pane(i, engine.catalog[name], self._changes.put) for i, name in enumerate(names)]
        self._cancel_requested_at: float | None = None
        self._threads = [
            threading.Thread(target=self._run, args=(pane,), name=f"pane-{pane.entry.name}", daemon=True)
            for pane in self.panes
        ]
        for thread in self._threads:
            thread.start()

    # --- public ----------------------------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        return all(pane.finished for pane in self.panes)

    def snapshots(self) -> list[PaneSnapshot]:
        return [pane.snapshot() for pane in self.panes]

    def cancel(self) -> None:
        if self._cancel_requested_at is None:
            self._cancel_requested_at = time.monotonic()
        for pane in self.panes:
            pane.cancelled.set()
        self._changes.put(-1)

    def updates(self, poll_s: float = 0.1) -> Iterator[set[int]]:
        """Yield the indices of panes that changed, batched, until every pane has ended."""
        while True:
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
            if changed:
                yield changed
            if self.finished:
                return

    def wait(self) -> list[PaneSnapshot]:
        for _ in self.updates():
            pass
        return self.snapshots()

    def join_backends(self, timeout_s: float) -> bool:
        """Wait for the backend threads themselves to return (after cancel, local generation must stop)."""
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)

    # --- internals -------------------------------------------------------------------------------------------

    def _run(self, pane: Pane) -> None:
        entry = pane.entry
        pane.start()
        try:
            availability = self.engine.availability.check(entry)
            if not availability.ok:
                pane.finish("error", f"unavailable: {availability.reason}")
                return
            request = self.request
            if request.image is not None and not entry.image_input:
                pane.notice(
                    f"The image was not sent: {entry.name} takes text only."
                    if entry.output == "text" else f"The image was not sent: {entry.name} draws from text only."
                )
                request = request.without_image()
            if pane.cancelled.is_set():
                pane.finish("cancelled")
                return
            self.engine.backend(entry.name).generate(request, pane)
            pane.finish("cancelled" if pane.cancelled.is_set() else "done")
        except PaneClosed:
            pane.finish("cancelled")
        except BaseException as error:  # a backend's failure belongs to its pane alone
            if pane.cancelled.is_set():
                pane.finish("cancelled")
            else:
                log.info("%s failed: %s", entry.name, errors.describe(error))
                pane.finish("error", errors.describe(error))

    def _enforce_deadlines(self) -> None:
        now = time.monotonic()
        for pane in self.panes:
            if pane.finished:
                continue
            if self._cancel_requested_at is not None and now - self._cancel_requested_at >= CANCEL_GRACE_S:
                pane.finish("cancelled")
            elif pane.started_at is not None and now - pane.started_at > pane.entry.timeout_s:
                pane.cancelled.set()
                pane.finish("error", f"timed out after {pane.entry.timeout_s:g} s")
