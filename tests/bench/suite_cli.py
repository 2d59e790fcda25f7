"""suite_cli_ratio and suite_cli_cached_s: the whole command as a user types it.

``python -m arena suite run`` of a 50-case suite on 4 loopback models answering in 200 ms, ``--concurrency 8``,
``--no-cache``, timed from process start to exit; suite_cli_ratio = that / ideal (50 × 4 × 0.2 s / 8 = 5 s),
goal ≤ 1.15. suite_cli_cached_s: the same command again without --no-cache, every cell from the cache.

suite_cli_sdk_floor_ratio: the same 200 requests to the same server from a Python process that does nothing but
import the openai SDK and call it (four clients sharing one HTTP client, 8 threads), timed the same way: the
least any command that goes through the SDK can take. The two take turns, REPEATS times each; medians.
"""

from __future__ import annotations

import os
import shutil
import statistics
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
REPEATS = 3
# trio kept out as Arena's CLI keeps it out (arena.cli._without_trio): httpcore imports it whenever installed.
SDK_ONLY = """
import sys
sys.modules.setdefault("trio", None)
from concurrent.futures import ThreadPoolExecutor
import openai
url, key, cases, models, wait_ms, concurrency = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
http = openai.DefaultHttpxClient()
clients = [openai.OpenAI(api_key=key, base_url=url, http_client=http) for _ in range(models)]
def ask(cell):
    case, model = divmod(cell, models)
    answer = clients[model].chat.completions.create(
        model=f"wait{wait_ms}-m{model}", seed=1,
        messages=[{"role": "user", "content": f"question number {case}"}])
    assert "question" in answer.choices[0].message.content
with ThreadPoolExecutor(concurrency) as pool:
    list(pool.map(ask, range(cases * models)))
"""


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

        sdk_only = [sys.executable, "-c", SDK_ONLY, server.v1, KEY, str(CASES), str(MODELS),
                    str(int(ANSWER_S * 1000)), str(CONCURRENCY)]
        walls, floors = [], []
        for attempt in range(REPEATS):
            for which in ("arena", "sdk") if attempt % 2 == 0 else ("sdk", "arena"):
                if which == "sdk":
                    floors.append(timed(sdk_only, env)[0])
                    continue
                shutil.rmtree(Path(folder) / "data", ignore_errors=True)
                took, result = timed([*command, "--no-cache"], env)
                cells = result.stdout.count("\n  case-")
                assert cells == CASES * MODELS, result.stdout[-2000:]
                walls.append(took)
        wall, floor = statistics.median(walls), statistics.median(floors)
        cached_s, cached = timed(command, env)
        assert cached.stdout.count(" cached ") == CASES * MODELS, cached.stdout[-2000:]
    ideal = CASES * MODELS * ANSWER_S / CONCURRENCY
    print(f"{cells} cells in {wall:.2f} s from process start to exit (median of "
          f"{' '.join(f'{t:.2f}' for t in walls)}); ideal {ideal:.2f} s")
    print(f"sdk_only_s: {floor:.2f} (median of {' '.join(f'{t:.2f}' for t in floors)})")
    print(f"suite_cli_ratio: {wall / ideal:.3f}")
    print(f"suite_cli_sdk_floor_ratio: {floor / ideal:.3f}")
    print(f"suite_cli_cached_s: {cached_s:.3f}")


if __name__ == "__main__":
    main()
