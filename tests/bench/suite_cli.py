"""suite_cli_ratio and suite_cli_cached_s: the whole command as a user types it.

``python -m arena suite run`` of a 50-case suite on 4 loopback models answering in 200 ms, ``--concurrency 8``,
``--no-cache``, timed from process start to exit; suite_cli_ratio = that / ideal (50 × 4 × 0.2 s / 8 = 5 s),
goal ≤ 1.15. suite_cli_cached_s: the same command again without --no-cache, every cell from the cache.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml
from _common import ROOT

from tests.loopback import LoopbackProcess

KEY = "bench-key-loopback"
CASES, MODELS, ANSWER_S, CONCURRENCY = 50, 4, 0.2, 8


def timed(command: list[str], env: dict) -> tuple[float, subprocess.CompletedProcess]:
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    wall = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"the command failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return wall, result


def main() -> None:
    with LoopbackProcess(api_key=KEY) as server, tempfile.TemporaryDirectory() as folder:
        names = [f"m{i}" for i in range(MODELS)]
        catalog = Path(folder) / "catalog.yaml"
        catalog.write_text(yaml.safe_dump({"models": [
            {"name": name, "kind": "openai-chat", "model": f"wait{int(ANSWER_S * 1000)}-{name}",
             "base_url": server.v1} for name in names]}))
        suite = Path(folder) / "suite.yaml"
        suite.write_text("name: throughput\nversion: 1\ndefaults: {seed: 1}\ncases:\n" + "".join(
            f"  - {{id: case-{i}, prompt: question number {i}, checks: [{{contains: question}}]}}\n"
            for i in range(CASES)))
        warm = urllib.request.Request(server.v1 + "/models", headers={"Authorization": f"Bearer {KEY}"})
        urllib.request.urlopen(warm, timeout=10).close()  # the server is up and warm
        env = {**os.environ, "OPENAI_API_KEY": KEY, "ARENA_DATA_DIR": str(Path(folder) / "data"),
               "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
        command = [sys.executable, "-m", "arena", "--catalog", str(catalog), "suite", "run", str(suite),
                   "--models", ",".join(names), "--concurrency", str(CONCURRENCY)]

        wall, result = timed([*command, "--no-cache"], env)
        cells = result.stdout.count("\n  case-")
        assert cells == CASES * MODELS, result.stdout[-2000:]
        cached_s, cached = timed(command, env)
        assert cached.stdout.count(" cached ") == CASES * MODELS, cached.stdout[-2000:]
    ideal = CASES * MODELS * ANSWER_S / CONCURRENCY
    print(f"{cells} cells in {wall:.2f} s from process start to exit; ideal {ideal:.2f} s")
    print(f"suite_cli_ratio: {wall / ideal:.3f}")
    print(f"suite_cli_cached_s: {cached_s:.3f}")


if __name__ == "__main__":
    main()
