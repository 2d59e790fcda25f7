"""The engine: every model at once, each in its own pane; one failing or hanging model touches no other."""

from __future__ import annotations

import time

import pytest
from PIL import Image

from arena.engine import MAX_MODELS
from arena.errors import InputError
from arena.images import InputImage
from arena.request import GenerationParams, Request
from tests.conftest import openai_entry
from tests.helpers import wait_until

IMAGE = InputImage(Image.new("RGB", (32, 32), "white"))


def test_models_run_concurrently_and_a_failure_stays_in_its_pane(loopback, keys, engine_factory):
    entries = [
        openai_entry(loopback, "fast", model="wait100"),
        openai_entry(loopback, "medium", model="wait500"),
        openai_entry(loopback, "slow", model="wait900"),
        openai_entry(loopback, "broken", model="fail401"),
    ]
    engine = engine_factory(entries)
    before = len(loopback.requests)
    comparison = engine.start(Request("hi"), [e["name"] for e in entries])
    finish_order = []
    for changed in comparison.updates():
        for index in changed:
            pane = comparison.panes[index]
            if pane.finished and pane.entry.name not in finish_order:
                finish_order.append(pane.entry.name)
    arrivals = [s.at for s in loopback.requests[before:]]
    panes = {p.model: p for p in comparison.snapshots()}
    assert [panes[n].status for n in ("fast", "medium", "slow")] == ["done"] * 3
    assert all(panes[n].text.startswith("Hello from wait") for n in ("fast", "medium", "slow"))
    assert panes["broken"].status == "error" and "API key was rejected" in panes["broken"].error
    assert finish_order.index("fast") < finish_order.index("medium") < finish_order.index("slow")
    # All four requests were in flight together: one after another, the last would come 1.5 s after the first.
    assert len(arrivals) == 4 and max(arrivals) - min(arrivals) < 0.9
    assert panes["slow"].total_s >= 0.9


def test_text_only_model_gets_the_text_and_says_so(loopback, keys, engine_factory):
    engine = engine_factory([
        openai_entry(loopback, "vision", model="echo"),
        openai_entry(loopback, "textonly", model="echo", image_input=False),
    ])
    vision, textonly = engine.start(Request("look", IMAGE), ["vision", "textonly"]).wait()
    assert "I got an image" in vision.text and vision.notices == []
    assert "I got no image" in textonly.text
    assert textonly.notices == ["The image was not sent: textonly takes text only."]


@pytest.mark.parametrize("prompt, names, message", [
    ("", ["a"], "Type a prompt first."),
    ("   \n", ["a"], "Type a prompt first."),
    ("hi", [], "Pick at least one model."),
    ("hi", ["a", "nope"], "Unknown model: nope. Known: a, x0, x1"),
    ("hi", ["a"] * 2 + [f"x{i}" for i in range(MAX_MODELS)], "at most 12 run at once"),
])
def test_bad_input_is_refused_before_any_model_is_called(loopback, keys, engine_factory, prompt, names, message):
    entries = [openai_entry(loopback, "a", model="echo")] + [
        openai_entry(loopback, f"x{i}", model="echo") for i in range(MAX_MODELS)
    ]
    engine = engine_factory(entries)
    before = len(loopback.requests)
    with pytest.raises(InputError, match=message.replace(".", r"\.")):
        engine.start(Request(prompt), names)
    assert len(loopback.requests) == before


def test_unavailable_model_fails_in_its_pane_with_the_reason(loopback, engine_factory, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    engine = engine_factory([openai_entry(loopback, "needs-key", model="echo")])
    [pane] = engine.start(Request("hi"), ["needs-key"]).wait()
    assert pane.status == "error"
    assert pane.error == "unavailable: OPENAI_API_KEY is not set (environment or .env)"


def test_a_model_over_its_time_limit_is_stopped_and_the_others_finish(loopback, keys, engine_factory):
    engine = engine_factory([
        openai_entry(loopback, "hangs", model="stall", timeout_s=0.5),
        openai_entry(loopback, "fine", model="echo"),
    ])
    started = time.monotonic()
    hangs, fine = engine.start(Request("hi"), ["hangs", "fine"]).wait()
    assert time.monotonic() - started < 3
    assert hangs.status == "error" and hangs.error == "timed out after 0.5 s"
    assert fine.status == "done"


def test_stop_cancels_every_running_pane_quickly(loopback, keys, engine_factory):
    engine = engine_factory([
        openai_entry(loopback, "a", model="drip200"),
        openai_entry(loopback, "b", model="stall"),
    ])
    comparison = engine.start(Request("hi"), ["a", "b"])
    wait_until(lambda: comparison.panes[0].snapshot().text, timeout=20, what="a's first words")
    stopped = time.monotonic()
    comparison.cancel()
    panes = comparison.wait()
    assert time.monotonic() - stopped < 1.5
    assert [p.status for p in panes] == ["cancelled", "cancelled"]
    assert panes[0].text.startswith("Hello")  # what arrived before Stop stays


def test_params_layer_request_over_entry_over_backend_defaults(loopback, keys, engine_factory):
    engine = engine_factory([openai_entry(loopback, "p", model="echo", params={"temperature": 0.3, "max_tokens": 50})])
    before = len(loopback.requests)
    engine.start(Request("hi", params=GenerationParams(max_tokens=7, seed=3)), ["p"]).wait()
    body = loopback.requests[before].body
    assert (body["max_tokens"], body["temperature"], body["seed"]) == (7, 0.3, 3)
