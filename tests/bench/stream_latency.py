"""stream_p95_ms: extra delay between a loopback backend sending a chunk and gradio_client receiving it, p95.

A loopback model sends a chunk every 50 ms; the app's /compare endpoint streams; the client notes when each
chunk's text first shows up. Goal ≤ 50 ms.

gradio_client polls its message queue every 50 ms when it is empty (gradio_client/utils.py,
stream_sse_v1plus), which alone adds 0–50 ms. The same chunks read straight from the app's SSE stream
(Gradio's /call API) show the app's own share; that figure is printed first.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

import _common  # noqa: F401
from gradio_client import Client

from tests.apprunner import running_app, write_catalog
from tests.loopback import LoopbackServer

KEY = "bench-key-loopback"
RUNS = 8
PROMPT = "one two three four five six seven eight nine ten eleven twelve"


def words_of(update: dict) -> int:
    return len(update["panes"][0]["text"].split())


def via_gradio_client(client: Client, model: str) -> list[tuple[float, int]]:
    seen = []
    job = client.submit(prompt=PROMPT, models=[model], api_name="/compare")
    for update in job:
        seen.append((time.time(), words_of(update)))
    job.result()
    return seen


def via_raw_sse(url: str, model: str) -> list[tuple[float, int]]:
    body = json.dumps({"data": [PROMPT, [model], None, None]}).encode()
    request = urllib.request.Request(f"{url}/gradio_api/call/compare", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        event_id = json.load(response)["event_id"]
    seen = []
    with urllib.request.urlopen(f"{url}/gradio_api/call/compare/{event_id}") as stream:
        for raw in stream:
            line = raw.decode().strip()
            if line.startswith("data:") and line != "data: null":
                payload = json.loads(line[5:])
                if isinstance(payload, list) and payload and isinstance(payload[0], dict):
                    seen.append((time.time(), words_of(payload[0])))
    return seen


def p95_delays(server: LoopbackServer, model: str, seen: list[tuple[float, int]], delays: list[float]) -> None:
    if model not in server.chunk_times:
        raise RuntimeError(f"{model}: nothing was streamed; the client saw {seen[-1:]}")
    for chunk, sent_at in enumerate(server.chunk_times[model]):
        received = next(t for t, words in seen if words >= chunk + 1)
        delays.append((received - sent_at) * 1000)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    os.environ["OPENAI_API_KEY"] = KEY
    with LoopbackServer(api_key=KEY) as server, tempfile.TemporaryDirectory() as folder:
        os.environ["ARENA_DATA_DIR"] = folder
        entries = [{"name": f"drip{i}", "kind": "openai-chat", "model": f"drip50-run{i}", "base_url": server.v1}
                   for i in range(2 * RUNS + 1)]
        catalog = write_catalog(Path(folder) / "catalog.yaml", entries)
        client_delays: list[float] = []
        raw_delays: list[float] = []
        with running_app(catalog) as (url, engine):
            client = Client(url, verbose=False)
            via_gradio_client(client, "drip0")  # warm-up: SDK import and client creation
            for run in range(1, RUNS + 1):
                p95_delays(server, f"drip50-run{run}", via_gradio_client(client, f"drip{run}"), client_delays)
                raw = RUNS + run
                p95_delays(server, f"drip50-run{raw}", via_raw_sse(url, f"drip{raw}"), raw_delays)
        print(f"raw SSE: {len(raw_delays)} chunks, median {statistics.median(raw_delays):.1f} ms, "
              f"p95 {p95(raw_delays):.1f} ms (the app's own share)")
        print(f"gradio_client: {len(client_delays)} chunks, median {statistics.median(client_delays):.1f} ms, "
              f"max {max(client_delays):.1f} ms")
        print(f"stream_p95_ms: {p95(client_delays):.1f}")


if __name__ == "__main__":
    main()
