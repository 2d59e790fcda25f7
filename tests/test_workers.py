"""arena/workers.py: reused threads that never make a job wait behind another."""

from __future__ import annotations

import gc
import threading
import weakref

from arena.workers import Workers


def _thread_of(workers: Workers, release: threading.Event | None = None) -> tuple[threading.Event, list]:
    seen: list = []

    def job() -> None:
        seen.append(threading.get_ident())
        if release is not None:
            assert release.wait(10)

    return workers.run(job, name="job"), seen


def test_a_job_never_waits_behind_a_busy_worker():
    workers, release = Workers("test"), threading.Event()
    blocked, first = _thread_of(workers, release)
    returned, second = _thread_of(workers)
    assert returned.wait(10)  # ran while the first job still holds its worker
    assert not blocked.is_set() and second[0] != first[0]
    release.set()
    assert blocked.wait(10)


def test_an_idle_worker_takes_the_next_job():
    workers = Workers("test")
    returned, first = _thread_of(workers)
    assert returned.wait(10)
    for _ in range(5):
        returned, again = _thread_of(workers)
        assert returned.wait(10)
        assert again == first


def test_a_failing_job_leaves_the_worker_working():
    workers = Workers("test")
    assert workers.run(lambda: 1 / 0).wait(10)
    returned, seen = _thread_of(workers)
    assert returned.wait(10) and seen


def test_an_idle_worker_ends_after_idle_s():
    workers = Workers("test", idle_s=0.01)
    threads: list[threading.Thread] = []
    assert workers.run(lambda: threads.append(threading.current_thread())).wait(10)
    threads[0].join(10)
    assert not threads[0].is_alive()
    returned, seen = _thread_of(workers)  # a new worker starts for the next job
    assert returned.wait(10) and seen


def test_the_worker_carries_the_job_name_while_it_runs():
    workers, names = Workers("idle-name"), []
    assert workers.run(lambda: names.append(threading.current_thread().name), name="pane-x").wait(10)
    assert names == ["pane-x"]


def test_an_idle_worker_keeps_nothing_of_its_last_job_alive():
    class Answer:
        pass

    answer = Answer()
    kept = weakref.ref(answer)
    assert Workers("test").run(lambda _: None, answer).wait(10)
    del answer
    gc.collect()
    assert kept() is None
