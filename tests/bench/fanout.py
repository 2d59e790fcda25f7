"""fanout_ratio: 8 loopback models answering in 1.0 s each, through the engine: wall time / slowest backend.

Goal ≤ 1.05 (one after another would give 8).
"""

from __future__ import annotations

import statistics
import tempfile
import time

import _common  # noqa: F401

from arena.catalog import Catalog, ModelEntry
from arena.engine import Engine
from arena.request import Request
from arena.settings import Settings
from tests.loopback import LoopbackServer

KEY = "bench-key-loopback"


def main() -> None:
    import os

    os.environ["OPENAI_API_KEY"] = KEY
    with LoopbackServer(api_key=KEY) as server, tempfile.TemporaryDirectory() as data:
        entries = [ModelEntry(name=f"m{i}", kind="openai-chat", model="wait1000", base_url=server.v1)
                   for i in range(8)]
        engine = Engine(Catalog(entries), Settings(data_dir=data))
        engine.start(Request("warm up"), [e.name for e in entries]).wait()  # SDK import, clients
        ratios = []
        for _ in range(3):
            started = time.monotonic()
            panes = engine.start(Request("a charming spider at work"), [e.name for e in entries]).wait()
            wall = time.monotonic() - started
            assert all(p.status == "done" for p in panes), [p.error for p in panes]
            slowest = max(p.total_s for p in panes)
            ratios.append(wall / slowest)
            print(f"wall {wall:.3f} s, slowest backend {slowest:.3f} s, ratio {wall / slowest:.3f}")
        engine.close()
    print(f"fanout_ratio: {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
