"""Threads that are kept and reused: a job runs at once on an idle worker, or on a new one when all are busy.

A job never waits behind another (one slow or hanging job holds up nothing), yet a suite's hundreds of cells do not
each pay for a thread start and, in that new thread, a new database connection. A worker idle for ``idle_s`` ends.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Callable

log = logging.getLogger(__name__)


class Workers:
    def __init__(self, prefix: str, idle_s: float = 60.0):
        self.prefix = prefix
        self.idle_s = idle_s
        self._jobs: queue.SimpleQueue[tuple[Callable, tuple, str, threading.Event]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0  # workers waiting for a job that no job has been promised to yet

    def run(self, target: Callable, *args, name: str | None = None) -> threading.Event:
        """Run ``target(*args)`` on a worker (named ``name`` meanwhile); the event is set once it has returned."""
        returned = threading.Event()
        with self._lock:
            self._jobs.put((target, args, name or self.prefix, returned))
            if self._idle:
                self._idle -= 1
                return returned
        threading.Thread(target=self._work, name=self.prefix, daemon=True).start()
        return returned

    def _work(self) -> None:
        thread = threading.current_thread()
        job = self._jobs.get()
        while True:
            target, args, thread.name, returned = job
            try:
                target(*args)
            except BaseException:  # a job's failure ends the job, never the worker
                log.exception("%s failed", thread.name)
            thread.name = self.prefix
            job = target = args = None  # an idle worker keeps nothing of its last job alive
            with self._lock:
                self._idle += 1
            returned.set()  # after counting itself idle, so that a job started once this one returned reuses it
            try:
                job = self._jobs.get(timeout=self.idle_s)
            except queue.Empty:
                with self._lock:
                    if self._idle:
                        self._idle -= 1
                        return
                job = self._jobs.get()  # a job was promised to an idle worker just now: this one takes it
