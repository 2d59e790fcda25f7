"""What test files share: running the CLI, a stored record, ticking a model in the browser, and waiting for a
condition (never a fixed sleep)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from typing import Callable, TypeVar

from arena.store import OutputRecord, Store, new_id
from tests.conftest import ROOT

T = TypeVar("T")


class Restartable:
    """A test server (``start()`` / ``stop()``) that a test takes down for a while."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    @contextmanager
    def stopped(self):
        """The server down for the block, then up again."""
        self.stop()
        try:
            yield
        finally:
            self.start()


def free_port() -> int:
    """A TCP port nothing listens on now, on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def arena(*args, env_extra=None, timeout=180) -> subprocess.CompletedProcess:
    """``python -m arena ARGS`` from the checkout, as a user types it; stdout and stderr as text."""
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "arena", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=timeout)


def new_record(store: Store, *, model="m", text="an answer", prompt="a prompt", output="text",
                  created_at=None, status="done") -> OutputRecord:
    """A record of a comparison of its own (the comparison is in ``store``, the record is not saved yet)."""
    comparison_id = new_id()
    created_at = created_at or time.time()
    store.ensure_comparison(comparison_id, prompt, created_at)
    return OutputRecord(
        id=new_id(), comparison_id=comparison_id, created_at=created_at, model=model, kind="openai-chat",
        output=output, status=status, prompt=prompt, input_image=None, text=text if output == "text" else "",
        error=None, images=[], thumb=None, entry={"name": model}, params={}, used={}, versions={}, metrics={},
        notices=[],
    )


def output_record(comparison_id: str, *, model="painter", prompt="a red fox", seed=None, text="", output="image",
                  created_at=None, input_image=None) -> OutputRecord:
    """A finished output of ``comparison_id`` (a picture by default), not saved anywhere."""
    return OutputRecord(
        id=new_id(), comparison_id=comparison_id, created_at=created_at or time.time(), model=model,
        kind="diffusers" if output == "image" else "openai-chat", output=output, status="done", prompt=prompt,
        input_image=input_image, text=text, error=None, images=[], thumb=None, entry={"name": model}, params={},
        used={"seed": seed} if seed is not None else {}, versions={},
        metrics={"total_s": 1.25, "ttft_s": 0.2, "steps": 4} if output == "image" else {"ttft_s": 0.2, "tokens": 9},
        notices=[],
    )


def pick(page, name: str) -> None:
    """Tick (or untick) a model in the Compare view's model list (a playwright page)."""
    page.locator("#arena-models label", has_text=f"{name} ·").click()


def wait_until(condition: Callable[[], T], timeout: float = 30, interval: float = 0.01,
               what: str = "the condition") -> T:
    """Poll ``condition`` until it returns something true and return that; fail the test after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout} s")
        time.sleep(interval)


def chat_engine(engine_factory, loopback, folder):
    """An engine on the loopback server, storing in ``folder``: two seeing chat models (OpenAI, Mistral), one that
    reads text only, one rate-limited without retries, and an image generator."""
    from arena.store import Store
    from tests.conftest import mistral_entry, openai_entry

    engine = engine_factory([
        openai_entry(loopback, "seer", model="echo-seer"),
        mistral_entry(loopback, "mistral-seer", model="echo-mistral-seer"),
        openai_entry(loopback, "reader", model="echo-reader", image_input=False),
        openai_entry(loopback, "flaky", model="ratelimit-chat", max_retries=0),
        openai_entry(loopback, "painter", kind="openai-image", model="gpt-image-1"),
    ])
    engine.store = Store(folder / "data")
    return engine


def image_parts(message: dict) -> list:
    """The image parts of a chat message as the OpenAI wire format carries it."""
    content = message["content"]
    return [] if isinstance(content, str) else [p for p in content if p.get("type") == "image_url"]


def text_of(message: dict) -> str:
    content = message["content"]
    return content if isinstance(content, str) else " ".join(p["text"] for p in content if p.get("type") == "text")
