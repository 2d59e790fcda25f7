"""OpenAI-compatible streams read as plain JSON (arena/backends/openai_chat.read_stream) instead of the SDK's pydantic
chunks: the same text, usage and errors as the SDK gives, for the loopback server and for hand-written streams."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai
import pytest

from arena.backends.openai_chat import sse_batches
from arena.request import Request
from tests.conftest import LOOPBACK_KEY, openai_entry
from tests.helpers import wait_until


def chunk(content: str | None = None, finish: str | None = None, **extra) -> dict:
    delta = {} if content is None else {"content": content}
    return {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}


def event(payload) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


# Each model name is a stream, as the pieces its server writes (one network write each).
STREAMS = {
    "error-midway": [event(chunk("Hello ")), event(chunk("there")),
                     event({"error": {"message": "The model crashed mid-answer.", "type": "server_error"}})],
    "no-finish": [event(chunk("Half ")), event(chunk("an answer"))],
    # Three events in one write; CRLF line ends; a comment, an event name and an id; data over two lines.
    "one-read": [event(chunk("a")) + event(chunk("b")) + event(chunk("c")),
                 b": keep-alive\r\n\r\nevent: message\r\nid: 7\r\ndata: " + json.dumps(chunk("d")).encode()
                 + b"\r\n\r\n",
                 b'data: {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",\n'
                 b'data: "choices": [{"index": 0, "delta": {"content": "e"}, "finish_reason": "stop"}]}\n\n',
                 b"data: [DONE]\n\n", event(chunk("never shown"))],
    # An event split across writes, usage on the final chunk (Mistral's way) and no [DONE].
    "split": [b'data: {"id": "c", "object": "chat.completion.chunk", "created": 0, "mod',
              b'el": "m", "choices": [{"index": 0, "delta": {"content": "joined"}, "finish_reason": null}]}\n',
              b"\n" + event(chunk(" up", "length", usage={"prompt_tokens": 1, "completion_tokens": 42,
                                                         "total_tokens": 43}))],
}


@pytest.fixture(scope="module")
def scripted():
    """A server that answers every chat completion with the stream its model names (STREAMS)."""
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for piece in STREAMS[body["model"]] + [b""]:
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                self.wfile.flush()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def scripted_entry(base_url: str, model: str) -> dict:
    return {"name": model, "kind": "openai-chat", "model": model, "base_url": base_url, "max_retries": 0}


def run(engine, name: str):
    [pane] = engine.start(Request("hello"), [name]).wait()
    return pane


def sdk_answer(base_url: str, model: str) -> tuple[str, int | None, str | None]:
    """What the SDK's own pydantic stream reads: the text, the usage and the finish reason."""
    client = openai.OpenAI(api_key=LOOPBACK_KEY, base_url=base_url, max_retries=0)
    text, usage, finish = "", None, None
    with client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hello"}], stream=True,
                                        stream_options={"include_usage": True}) as stream:
        for piece in stream:
            if piece.choices:
                text += piece.choices[0].delta.content or ""
                finish = piece.choices[0].finish_reason or finish
            if piece.usage is not None:
                usage = piece.usage.completion_tokens
    client.close()
    return text, usage, finish


@pytest.mark.parametrize("model", ["echo", "drip1-words40"])
def test_the_same_text_and_usage_as_the_sdk_reads(loopback, keys, engine_factory, model):
    engine = engine_factory([openai_entry(loopback, "m", model=model)])
    pane = run(engine, "m")
    text, usage, finish = sdk_answer(loopback.v1, model)
    assert finish == "stop"
    assert pane.status == "done", pane.error
    assert pane.text == text and pane.tokens == usage


def test_an_error_event_midway_is_the_servers_message_and_keeps_the_text(scripted, keys, engine_factory):
    engine = engine_factory([scripted_entry(scripted, "error-midway")])
    pane = run(engine, "error-midway")
    assert pane.status == "error"
    assert "The model crashed mid-answer." in pane.error
    assert pane.text == "Hello there"
    with pytest.raises(openai.APIError, match="crashed mid-answer"):  # the SDK says the same
        sdk_answer(scripted, "error-midway")


def test_a_stream_without_a_finish_reason_is_cut_off(scripted, keys, engine_factory):
    engine = engine_factory([scripted_entry(scripted, "no-finish")])
    pane = run(engine, "no-finish")
    assert pane.status == "error" and pane.error.startswith("cut off:")
    assert pane.text == "Half an answer"


def test_events_are_read_as_sse_says_whatever_the_network_pieces(scripted, keys, engine_factory):
    engine = engine_factory([scripted_entry(scripted, "one-read"), scripted_entry(scripted, "split")])
    one_read = run(engine, "one-read")
    assert one_read.status == "done", one_read.error
    assert one_read.text == "abcde" == sdk_answer(scripted, "one-read")[0]
    assert one_read.tokens == 5  # no usage: one token per delta, also where one read brought three
    split = run(engine, "split")
    assert split.status == "done", split.error
    assert split.text == "joined up" and split.tokens == 42
    assert sdk_answer(scripted, "split") == ("joined up", 42, "length")


def test_sse_batches_one_list_per_network_read():
    reads = [b"data: 1\n\ndata: 2\n", b"\n: comment\n\ndata:3\r\n", b"data: 4\r\n\r\n", b"data: 5"]
    assert list(sse_batches(reads)) == [[b"1"], [b"2"], [b"3\n4"]]  # an event never ended is dropped


def test_stop_ends_a_stream_midway(loopback, keys, engine_factory):
    engine = engine_factory([openai_entry(loopback, "slow", model="drip100-words200")])
    comparison = engine.start(Request("hello"), ["slow"])
    wait_until(lambda: comparison.panes[0].snapshot().text, timeout=10)
    comparison.cancel()
    [pane] = comparison.wait()
    assert pane.status == "cancelled"
    assert 0 < len(pane.text.split()) < 200
