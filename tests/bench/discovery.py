"""How long listing the catalog takes when it discovers local servers.

discovery_nothing_s: the built-in catalog's three discovering entries (Ollama, llama.cpp, LM Studio) with no
server answering on this machine (goal: well under the 0.5 s connect timeout; a closed port refuses at once).
discovery_blackhole_s: three servers that accept connections but never answer (goal ≤ read timeout + a little:
they are asked at once, not one after another).
discovery_ollama_s: a loopback Ollama with 8 models (list + one /api/show each, in parallel).
"""

from __future__ import annotations

import socket
import statistics
import threading
import time

import _common  # noqa: F401

from arena.catalog import Catalog, ModelEntry
from arena.paths import DEFAULT_CATALOG
from tests.ollama_loopback import OllamaServer


def timed(catalog: Catalog, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        catalog.discovery.forget()
        started = time.monotonic()
        catalog.names()
        times.append(time.monotonic() - started)
    return statistics.median(times)


def source(name: str, url: str) -> ModelEntry:
    return ModelEntry.model_validate({"name": name, "kind": "openai-chat", "discover": True, "base_url": url,
                                      "api_key_env": None})


def silent_listener() -> tuple[socket.socket, int]:
    """A socket that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held = []
    threading.Thread(target=lambda: [held.append(listener.accept()) for _ in iter(int, 1)], daemon=True).start()
    return listener, listener.getsockname()[1]


def main() -> None:
    print(f"discovery_nothing_s: {timed(Catalog.load(DEFAULT_CATALOG)):.3f}")
    listeners = [silent_listener() for _ in range(3)]
    blackholes = Catalog([source(f"silent{n}", f"http://127.0.0.1:{port}/v1") for n, (_, port) in
                          enumerate(listeners)])
    print(f"discovery_blackhole_s: {timed(blackholes, runs=1):.3f}")
    models = {f"model{n}:latest": ["completion"] + (["vision"] if n % 2 else []) for n in range(8)}
    with OllamaServer(models) as server:
        print(f"discovery_ollama_s: {timed(Catalog([source('ollama', server.v1)])):.3f}")


if __name__ == "__main__":
    main()
