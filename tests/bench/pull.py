"""pull_ratio: ``python -m arena pull`` of a 300 MB tiny model from the loopback Hugging Face Hub, divided by a
plain HTTP download of the same files from the same server in the same run (a Python process reading each file
with urllib and writing it to disk). Both timed from process start to exit, REPEATS times each, the two taking
turns so that a busy moment of the machine falls on both; the ratio is of the medians; goal ≤ 1.3.

pull_ratio_100MBps: the same with the server paced at 100 MB/s, a fast real connection, where the transfer rather
than the loopback's CPU-bound speed and the command's start-up (imports, the Hub look-up) sets the time.

pull_ratio_hf_snapshot_download: huggingface_hub's own ``snapshot_download`` of the same files into an empty cache
from a Python process that does only that, timed the same way and taking turns with the other two: what going
through huggingface_hub costs before any of Arena's checks or progress.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT

from arena.hub import needed_files
from tests.apprunner import write_catalog
from tests.hub import LoopbackHub, build_smolvlm, hub_environment

PADDING_BYTES = 300 * 1000 * 1000
REPO = "HuggingFaceTB/SmolVLM-300MB"
REPEATS = 7
PLAIN = """
import sys, urllib.request
from pathlib import Path
url, out = sys.argv[1], Path(sys.argv[2])
for path in sys.argv[3:]:
    target = out / path
    target.parent.mkdir(parents=True, exist_ok=True)
    with urllib.request.urlopen(f"{url}/{path}") as response, open(target, "wb") as handle:
        while chunk := response.read(10 * 1024 * 1024):
            handle.write(chunk)
"""
# trio kept out as Arena's CLI keeps it out (arena.cli._without_trio): httpcore imports it whenever installed.
HUB_ONLY = """
import sys
sys.modules.setdefault("trio", None)
from huggingface_hub import snapshot_download
snapshot_download(sys.argv[1], allow_patterns=sys.argv[2:])
"""


def timed(command: list[str], env: dict) -> float:
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    wall = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"{command[:4]} failed: {result.stderr[-2000:]}")
    return wall


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="arena-bench-pull-") as scratch:
        scratch = Path(scratch)
        model = scratch / "model"
        model.mkdir()
        build_smolvlm(model, padding_bytes=PADDING_BYTES)
        catalog = write_catalog(scratch / "catalog.yaml", [{"name": "big", "kind": "transformers", "model": REPO}])
        with LoopbackHub() as hub:
            repo = hub.add(REPO, model)
            sizes = {path: info["size"] for path, info in repo.files.items()}
            needed = [f.path for f in needed_files("transformers", sizes, None)]  # what the pull fetches too
            base = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
            print(f"pull_bytes: {sum(repo.files[p]['size'] for p in needed)}")
            for rate, suffix in ((None, ""), (100e6, "_100MBps")):
                hub.rate = rate
                times: dict[str, list[float]] = {"plain": [], "pull": [], "hub": []}
                for attempt in range(REPEATS):
                    plain_out, cache = scratch / "plain", scratch / "hf-cache"
                    env = base | hub_environment(hub, cache)
                    commands = {
                        "plain": ([sys.executable, "-c", PLAIN, f"{hub.url}/{REPO}/resolve/main", str(plain_out),
                                   *needed], base, plain_out),
                        "pull": ([sys.executable, "-m", "arena", "--catalog", str(catalog), "pull", "big"], env, cache),
                        "hub": ([sys.executable, "-c", HUB_ONLY, REPO, *needed], env, cache),
                    }
                    # Take turns at going first, so none always meets a warm page cache or a busy moment.
                    order = list(commands)[attempt % 3:] + list(commands)[:attempt % 3]
                    for which in order:
                        command, environment, written = commands[which]
                        times[which].append(timed(command, environment))
                        shutil.rmtree(written)
                plain_s, pull_s, hub_s = (statistics.median(times[which]) for which in ("plain", "pull", "hub"))
                for label, which, median in (("plain_download", "plain", plain_s), ("arena_pull", "pull", pull_s),
                                             ("hf_snapshot_download", "hub", hub_s)):
                    print(f"{label}{suffix}_s: {median:.3f} "
                          f"(median of {' '.join(f'{t:.3f}' for t in times[which])})")
                print(f"pull_ratio{suffix}: {pull_s / plain_s:.3f}")
                print(f"pull_ratio{suffix}_hf_snapshot_download: {hub_s / plain_s:.3f}")


if __name__ == "__main__":
    main()
