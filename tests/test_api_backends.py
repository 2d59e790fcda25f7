"""The OpenAI and Mistral backends drive the real SDKs against a loopback server speaking their protocols."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from arena.images import InputImage
from arena.request import Request
from tests.conftest import LOOPBACK_KEY, mistral_entry, openai_entry

RED = InputImage(Image.new("RGB", (40, 30), (255, 0, 0)))


def run_one(engine, name, prompt="a charming spider at work", image=None):
    comparison = engine.start(Request(prompt, image), [name])
    return comparison.wait()[0]


def decoded_data_url(url: str) -> Image.Image:
    assert url.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))


@pytest.mark.parametrize("flavour", ["openai", "mistral"])
def test_chat_streams_with_an_image(loopback, keys, engine_factory, flavour):
    make = openai_entry if flavour == "openai" else mistral_entry
    name = f"echo-{flavour}"
    engine = engine_factory([make(loopback, name, model="echo")])
    before = len(loopback.requests)
    pane = run_one(engine, name, image=RED)
    assert pane.status == "done", pane.error
    assert pane.text.startswith("Hello from echo. I got an image. You said: a charming spider at work")
    assert pane.tokens == len(pane.text.split(" "))  # the usage the server reported
    assert pane.ttft_s is not None and pane.total_s >= pane.ttft_s
    sent = loopback.requests[before]
    assert sent.headers["authorization"] == f"Bearer {LOOPBACK_KEY}"
    assert sent.body["stream"] is True
    text_part, image_part = sent.body["messages"][0]["content"]
    assert text_part == {"type": "text", "text": "a charming spider at work"}
    # Each SDK's own shape for an image part: OpenAI nests the URL, Mistral gives it as a plain string.
    url = image_part["image_url"]["url"] if flavour == "openai" else image_part["image_url"]
    assert decoded_data_url(url).getpixel((0, 0)) == (255, 0, 0)


@pytest.mark.parametrize("flavour", ["openai", "mistral"])
def test_a_whole_answer_when_nobody_watches_the_tokens(loopback, keys, engine_factory, flavour):
    make = openai_entry if flavour == "openai" else mistral_entry
    engine = engine_factory([make(loopback, "whole", model="echo")])
    before = len(loopback.requests)
    [pane] = engine.start(Request("one piece", stream=False), ["whole"]).wait()
    assert pane.status == "done", pane.error
    assert pane.text == "Hello from echo. I got no image. You said: one piece"
    assert pane.tokens == len(pane.text.split(" "))
    assert not loopback.requests[before].body.get("stream")


@pytest.mark.parametrize("flavour", ["openai", "mistral"])
def test_bad_key_is_said_plainly_without_the_key(loopback, monkeypatch, engine_factory, flavour):
    wrong = "wrong-key-that-must-not-leak-123"
    monkeypatch.setenv("OPENAI_API_KEY", wrong)
    monkeypatch.setenv("MISTRAL_API_KEY", wrong)
    make = openai_entry if flavour == "openai" else mistral_entry
    engine = engine_factory([make(loopback, "m", model="echo")])
    pane = run_one(engine, "m")
    assert pane.status == "error"
    assert "API key was rejected (HTTP 401)" in pane.error
    assert wrong not in pane.error


@pytest.mark.parametrize("flavour", ["openai", "mistral"])
def test_rate_limit_is_retried_by_the_sdk_after_retry_after(loopback, keys, engine_factory, flavour):
    model = f"ratelimit-{flavour}"
    make = openai_entry if flavour == "openai" else mistral_entry
    engine = engine_factory([make(loopback, "m", model=model)])
    pane = run_one(engine, "m")
    assert pane.status == "done", pane.error
    assert loopback.count(model) == 2  # one 429, one success: the SDK's retry, no second layer of ours
    first, second = [s for s in loopback.requests if (s.body or {}).get("model") == model]
    assert second.at - first.at >= 0.9  # Retry-After: 1 was honoured


def test_server_errors_are_retried_then_reported(loopback, keys, engine_factory):
    engine = engine_factory([openai_entry(loopback, "m", model="fail500-retries", max_retries=1)])
    pane = run_one(engine, "m")
    assert pane.status == "error"
    assert pane.error.startswith("the server failed (HTTP 500)")
    assert loopback.count("fail500-retries") == 2


@pytest.mark.parametrize("flavour", ["openai", "mistral"])
def test_a_stream_that_stalls_times_out(loopback, keys, engine_factory, flavour):
    make = openai_entry if flavour == "openai" else mistral_entry
    engine = engine_factory([make(loopback, "m", model="stall", read_timeout_s=1, max_retries=0)])
    pane = run_one(engine, "m")
    assert pane.status == "error"
    assert "timed out" in pane.error
    assert pane.text.startswith("Hello")  # what came before the stall is kept


@pytest.mark.parametrize("flavour", ["openai", "mistral"])
def test_a_stream_cut_midway_is_an_error_that_keeps_the_text(loopback, keys, engine_factory, flavour):
    make = openai_entry if flavour == "openai" else mistral_entry
    engine = engine_factory([make(loopback, "m", model="cut", max_retries=0)])
    pane = run_one(engine, "m")
    assert pane.status == "error"
    assert "closed before the answer was complete" in pane.error
    assert pane.text == "Hello from "


def test_openai_image_generation_returns_the_picture(loopback, keys, engine_factory):
    engine = engine_factory([{
        "name": "img", "kind": "openai-image", "model": "gpt-image-1", "base_url": loopback.v1,
        "params": {"width": 1024, "height": 1024},
    }])
    before = len(loopback.requests)
    pane = run_one(engine, "img", image=RED)
    assert pane.status == "done", pane.error
    assert len(pane.images) == 1 and pane.images[0].size == (64, 64)
    assert pane.notices == ["The image was not sent: img draws from text only."]
    sent = loopback.requests[before]
    assert sent.path == "/v1/images/generations"
    assert sent.body == {"model": "gpt-image-1", "prompt": "a charming spider at work", "n": 1,
                         "output_format": "png", "size": "1024x1024"}


def test_mistral_image_generation_uses_a_conversation_and_the_files_api(loopback, keys, engine_factory):
    engine = engine_factory([{
        "name": "mimg", "kind": "mistral-image", "model": "mistral-medium-latest", "base_url": loopback.url,
    }])
    before = len(loopback.requests)
    pane = run_one(engine, "mimg")
    assert pane.status == "done", pane.error
    assert pane.text == "Here is your picture."
    assert len(pane.images) == 1
    paths = [s.path for s in loopback.requests[before:]]
    assert paths[0] == "/v1/conversations"
    assert paths[1].startswith("/v1/files/") and paths[1].endswith("/content")
    body = loopback.requests[before].body
    assert body["tools"] == [{"type": "image_generation"}] and body["model"] == "mistral-medium-latest"


def test_keyless_compatible_server(loopback, engine_factory, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    loopback.api_key, saved = None, loopback.api_key
    try:
        engine = engine_factory([openai_entry(loopback, "ollama", model="echo", api_key_env=None)])
        pane = run_one(engine, "ollama")
    finally:
        loopback.api_key = saved
    assert pane.status == "done", pane.error
