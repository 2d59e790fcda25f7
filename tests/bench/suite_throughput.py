"""suite_ratio and suite_cached_s: 50 cases × 4 loopback models answering in 200 ms, concurrency 8.

suite_ratio = wall time / ideal (50 × 4 × 0.2 s / 8 = 5 s), goal ≤ 1.2; the same run again, fully cached, ≤ 1 s.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401

from arena.catalog import Catalog, ModelEntry
from arena.engine import Engine
from arena.request import Request
from arena.settings import Settings
from arena.store import Store
from arena.suites.model import load_suite
from arena.suites.runner import SuiteRun
from tests.loopback import LoopbackProcess

KEY = "bench-key-loopback"
CASES, MODELS, ANSWER_S, CONCURRENCY = 50, 4, 0.2, 8


def main() -> None:
    os.environ["OPENAI_API_KEY"] = KEY
    with LoopbackProcess(api_key=KEY) as server, tempfile.TemporaryDirectory() as folder:
        entries = [ModelEntry(name=f"m{i}", kind="openai-chat", model=f"wait{int(ANSWER_S * 1000)}-m{i}",
                              base_url=server.v1) for i in range(MODELS)]
        engine = Engine(Catalog(entries), Settings(data_dir=folder), Store(Path(folder)))
        engine.start(Request("warm up"), [e.name for e in entries], save=False).wait()
        suite_file = Path(folder) / "suite.yaml"
        suite_file.write_text("name: throughput\nversion: 1\ndefaults: {seed: 1}\ncases:\n" + "".join(
            f"  - {{id: case-{i}, prompt: question number {i}, checks: [{{contains: question}}]}}\n"
            for i in range(CASES)))
        suite = load_suite(suite_file)
        names = [e.name for e in entries]

        started = time.monotonic()
        results = SuiteRun(engine, suite, names, concurrency=CONCURRENCY).run()
        wall = time.monotonic() - started
        assert len(results) == CASES * MODELS and all(r.status == "done" for r in results)
        ideal = CASES * MODELS * ANSWER_S / CONCURRENCY
        print(f"{len(results)} cells in {wall:.2f} s; ideal {ideal:.2f} s")

        started = time.monotonic()
        cached = SuiteRun(engine, suite, names, concurrency=CONCURRENCY).run()
        cached_s = time.monotonic() - started
        assert all(r.cached for r in cached)
        engine.close()
    print(f"suite_ratio: {wall / ideal:.3f}")
    print(f"suite_cached_s: {cached_s:.3f}")


if __name__ == "__main__":
    main()
