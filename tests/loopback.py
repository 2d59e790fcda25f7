"""A small HTTP server on 127.0.0.1 speaking the OpenAI and Mistral wire protocols, for tests and benchmarks.

The real SDKs talk to it unchanged: JSON, SSE streams, error bodies, Retry-After. What it does is chosen by
the model name in the request:

    echo              streams a short answer that quotes the prompt and says whether an image came
    wait<MS>          waits MS milliseconds, then answers (e.g. wait1000)
    drip<MS>          sends each chunk MS milliseconds apart
    ...words<N>...    answers with N one-word chunks (e.g. drip20-words500: 500 chunks at 50 a second)
    fail401 fail500   answers with that HTTP error
    ratelimit         answers 429 with Retry-After: 1 to the first request for this model, then normally
    fail429           answers every request 429 with Retry-After: 0.01 (to count an SDK's retries)
    stall             sends one chunk, then nothing (until the server stops)
    cut               sends two chunks, then drops the connection mid-stream
    refuse            answers with a refusal
    judge             grades: "PASS; 8; …"
    critic            answers "Score: 7/10. …" (a critique)
    echokey           answers 401 quoting the request's API key, whole and its first half (a careless server)
    emptystream       answers 200 with an event stream that closes without a single chunk
    nofinish          streams its words, then closes the stream without a finish reason
    context400        answers 400 "maximum context length is 512 tokens", as llama.cpp's server does
    page              answers with a web page in an ```html block, whose script tries to reach its parent page,
                      storage, cookies and this server's /leak (for the sandboxed preview)
    hostile           answers with an attacker's Markdown: a full-page overlay form asking for a password, external
                      pictures of every kind (Markdown image, img, srcset, poster, CSS url(), SVG image…),
                      frames, a meta refresh, script links and handlers, all pointing at this server's /hostile/…;
                      and a page in an ```html block that tries to navigate to /hostile/… (for arena.render)
    rich              answers with Markdown a chat app shows well: a heading, a wide table, LaTeX, code, a list

Every request is kept in ``server.requests`` (path, headers, parsed body) so tests can check what was sent.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image

PNG_FILE_ID = "file-loopback-"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict
    body: dict | None
    at: float


PAGE = """Here is the page:

```html
<!doctype html><html><head><title>Sketch</title></head><body>
<h1 id="title">My website</h1>
<p id="verdict">checking</p>
<script>
const seen = [];
try { seen.push("parent:" + parent.document.title); } catch (e) { seen.push("parent:blocked"); }
try { localStorage.setItem("arena-leak", "x"); seen.push("storage:open"); } catch (e) { seen.push("storage:blocked"); }
try { document.cookie = "arena=leak"; seen.push(document.cookie ? "cookie:open" : "cookie:blocked"); }
catch (e) { seen.push("cookie:blocked"); }
fetch("LOOPBACK/leak").then(() => seen.push("fetch:open"), () => seen.push("fetch:blocked"))
  .finally(() => { document.getElementById("verdict").textContent = seen.join(" "); });
</script>
<img src="LOOPBACK/leak-image" alt="">
</body></html>
```
"""


HOSTILE = """Your session has expired.

<div style="position:fixed;inset:0;z-index:99999;background:white" id="overlay">
<form action="LOOPBACK/hostile/form" method="post"><h2>Session expired</h2>
<input type="password" name="password" placeholder="password"><button type="submit">Log in</button></form></div>

![chart](LOOPBACK/hostile/md-image?conversation=secret)

<img src="LOOPBACK/hostile/img" onerror="document.title='pwned'">
<img srcset="LOOPBACK/hostile/srcset 2x">
<picture><source srcset="LOOPBACK/hostile/source"><img alt="p"></picture>
<video poster="LOOPBACK/hostile/poster" src="LOOPBACK/hostile/video"></video>
<audio src="LOOPBACK/hostile/audio" autoplay></audio>
<p style="background:url(LOOPBACK/hostile/css-url)">styled</p>
<style>@import url(LOOPBACK/hostile/import); body { background: url(LOOPBACK/hostile/style-element); }</style>
<svg><image href="LOOPBACK/hostile/svg-image"/></svg>
<link rel="stylesheet" href="LOOPBACK/hostile/link"><link rel="prefetch" href="LOOPBACK/hostile/prefetch">
<meta http-equiv="refresh" content="0;url=LOOPBACK/hostile/refresh">
<iframe src="LOOPBACK/hostile/iframe"></iframe><object data="LOOPBACK/hostile/object"></object>
<embed src="LOOPBACK/hostile/embed"><input type="image" src="LOOPBACK/hostile/input-image">
<table background="LOOPBACK/hostile/table-bg"><tr><td>cell</td></tr></table>

[click me](javascript:alert(1)) <a href="javascript:alert(2)">me too</a> <b onmouseover="alert(3)">hover</b>

Templates: ${document.title='pwned'} `${document.title='pwned'}` {{constructor.constructor('document.title="pwned"')()}}

| model | score |
|---|---:|
| a | 1 |

And $e^{i\\pi}+1=0$.

```html
<!doctype html><html><head><meta http-equiv="refresh" content="0;url=LOOPBACK/hostile/page-refresh"></head>
<body><script>location.href = "LOOPBACK/hostile/page-location";</script></body></html>
```
"""


RICH = """## Results

Speed and quality of three approaches, with *Euler's identity* $e^{i\\pi}+1=0$ for good measure:

| approach | tokens per second | quality score (higher is better) | notes on the run, which are rather long |
|---|---:|---:|---|
| greedy | 41.2 | 7.5 | deterministic_and_repeatable_every_single_time |
| sampling | 39.8 | 8.1 | varied |

$$\\int_0^1 x^2\\,dx = \\frac{1}{3}$$

```python
def mean(values):
    return sum(values) / len(values)
```

- a list item with a very long token: https://example.org/a/very/long/path/that/does/not/break/nicely/at/all
- and a [link](https://example.org/docs)
"""


def answer_words(model: str, body: dict, url: str = "") -> list[str]:
    if model.startswith("rich"):
        return [line + "\n" for line in RICH.split("\n")]
    if model.startswith("hostile"):
        return [line + "\n" for line in HOSTILE.replace("LOOPBACK", url).split("\n")]
    if model.startswith("page"):
        return [line + "\n" for line in PAGE.replace("LOOPBACK", url).split("\n")]
    if model.startswith("refuse"):
        return ["I'm ", "sorry, ", "but ", "I ", "can't ", "help ", "with ", "that."]
    if model.startswith("critic"):
        return ["Score: ", "7/10. ", "A spider, ", "busy at work."]
    if model.startswith("judge"):
        return ["PASS; ", "8; ", "the output matches the rubric."]
    many = re.search(r"words(\d+)", model)
    if many:
        return [f"word{n} " for n in range(int(many.group(1)))]
    prompt, has_image = _prompt_of(body)
    seen = "an image" if has_image else "no image"
    words = f"Hello from {model}. I got {seen}. You said: {prompt[:60]}".split(" ")
    return [w + " " for w in words[:-1]] + [words[-1]]


def _prompt_of(body: dict) -> tuple[str, bool]:
    messages = body.get("messages") or []
    if not messages:
        return str(body.get("inputs") or body.get("prompt") or ""), False
    content = messages[-1].get("content")
    if isinstance(content, str):
        return content, False
    text = " ".join(p.get("text", "") for p in content if p.get("type") == "text")
    return text, any(p.get("type") == "image_url" for p in content)


def picture_png(prompt: str, size: int = 64) -> bytes:
    colour = tuple(hashlib.sha256(prompt.encode()).digest()[:3])
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, format="PNG")
    return buffer.getvalue()


class LoopbackServer:
    def __init__(self, api_key: str | None = None):
        self.api_key = api_key
        self.requests: list[Seen] = []
        self.chunk_times: dict[str, list[float]] = {}  # model -> wall-clock time each content chunk was sent
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self.httpd = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="loopback", daemon=True)

    @property
    def v1(self) -> str:
        return self.url + "/v1"

    def start(self) -> "LoopbackServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def count(self, model: str) -> int:
        with self._lock:
            return self._counts.get(model, 0)

    def bodies(self, path_suffix: str = "", model: str | None = None) -> list[dict]:
        return [
            s.body for s in list(self.requests)
            if s.path.endswith(path_suffix) and s.body is not None and (model is None or s.body.get("model") == model)
        ]

    def _note(self, seen: Seen) -> int:
        with self._lock:
            self.requests.append(seen)
            model = (seen.body or {}).get("model", "")
            self._counts[model] = self._counts.get(model, 0) + 1
            return self._counts[model]

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes; with Nagle on, a kept-alive connection waits for the
            # client's delayed ACK (40 ms) between them, which real API servers do not do.
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_GET(self):
                server._note(Seen("GET", self.path, _headers(self), None, time.monotonic()))
                if not self._authorised():
                    return
                match = re.fullmatch(r"/v1/files/([\w\-]+)/content", self.path)
                if match and match.group(1).startswith(PNG_FILE_ID):
                    prompt = base64.urlsafe_b64decode(match.group(1)[len(PNG_FILE_ID):] + "==").decode()
                    return self._send(200, picture_png(prompt), "application/octet-stream")
                if self.path == "/v1/models":
                    return self._json(200, {"object": "list", "data": [{"id": "echo", "object": "model"}]})
                self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    return self._json(400, {"error": {"message": "body is not JSON"}})
                attempt = server._note(Seen("POST", self.path, _headers(self), body, time.monotonic()))
                if not self._authorised():
                    return
                model = str(body.get("model", ""))
                if model.startswith("fail401"):
                    return self._json(401, {"error": {"message": "Incorrect API key provided.", "type": "auth"}})
                if model.startswith("echokey"):
                    key = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                    return self._json(401, {"error": {
                        "message": f"Incorrect API key provided: {key}. Keys look like {key[:len(key) // 2]}…",
                        "type": "auth"}})
                if model.startswith("context400"):
                    return self._json(400, {"error": {
                        "message": "This model's maximum context length is 512 tokens. However, you requested "
                                   "1034 tokens (10 in the messages, 1024 in the completion).",
                        "type": "invalid_request_error", "code": "context_length_exceeded"}})
                if model.startswith("fail500"):
                    return self._json(500, {"error": {"message": "The server had an error.", "type": "server"}})
                if model.startswith("fail429"):
                    return self._json(429, {"error": {"message": "Rate limit reached."}}, {"Retry-After": "0.01"})
                if model.startswith("ratelimit") and attempt == 1:
                    return self._json(429, {"error": {"message": "Rate limit reached."}}, {"Retry-After": "1"})
                wait = re.match(r"wait(\d+)", model)
                if wait:
                    time.sleep(int(wait.group(1)) / 1000)
                if self.path == "/v1/chat/completions":
                    return self._chat(model, body)
                if self.path == "/v1/images/generations":
                    png = picture_png(body.get("prompt", ""))
                    return self._json(200, {
                        "created": int(time.time()),
                        "data": [{"b64_json": base64.b64encode(png).decode()}],
                        "usage": {"input_tokens": 5, "output_tokens": 7, "total_tokens": 12,
                                  "input_tokens_details": {"image_tokens": 0, "text_tokens": 5}},
                    })
                if self.path == "/v1/conversations":
                    return self._conversation(model, body)
                self._json(404, {"error": {"message": f"no route {self.path}"}})

            def _authorised(self) -> bool:
                if server.api_key and self.headers.get("Authorization") != f"Bearer {server.api_key}":
                    self._json(401, {"error": {"message": "Incorrect API key provided.", "type": "auth"}})
                    return False
                return True

            def _chat(self, model: str, body: dict):
                words = answer_words(model, body, server.url)
                usage = {"prompt_tokens": 9, "completion_tokens": len(words), "total_tokens": 9 + len(words)}
                if not body.get("stream"):
                    return self._json(200, {
                        "id": "chat-1", "object": "chat.completion", "created": int(time.time()), "model": model,
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": "".join(words)}}],
                        "usage": usage,
                    })
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                if model.startswith("emptystream"):
                    self._chunk(b"")
                    return
                drip = re.match(r"drip(\d+)", model)
                gap = int(drip.group(1)) / 1000 if drip else 0.0
                started = time.monotonic()
                for number, word in enumerate(words):
                    if model.startswith("cut") and number == 2:
                        self.wfile.write(b"5\r\ndata:")  # half a chunk, then the connection drops
                        self.wfile.flush()
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return
                    self._event({
                        "id": "chat-1", "object": "chat.completion.chunk", "created": int(time.time()),
                        "model": model,
                        "choices": [{"index": 0, "delta": {"role": "assistant", "content": word},
                                     "finish_reason": None}],
                    })
                    server.chunk_times.setdefault(model, []).append(time.time())
                    if model.startswith("stall") and number == 0:
                        server.stopping.wait(30)
                        return
                    if gap:  # on a fixed schedule, so a stream lasts words × gap however long writes take
                        time.sleep(max(0.0, started + (number + 1) * gap - time.monotonic()))
                if model.startswith("nofinish"):
                    self._chunk(b"")
                    return
                final = {
                    "id": "chat-1", "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
                    "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "stop"}],
                }
                if (body.get("stream_options") or {}).get("include_usage"):  # OpenAI: usage comes alone, last
                    self._event(final)
                    self._event({**final, "choices": [], "usage": usage})
                else:  # Mistral: usage rides on the final chunk
                    self._event({**final, "usage": usage})
                self._chunk(b"data: [DONE]\n\n")
                self._chunk(b"")

            def _conversation(self, model: str, body: dict):
                prompt = str(body.get("inputs", ""))
                file_id = PNG_FILE_ID + base64.urlsafe_b64encode(prompt.encode()).decode().rstrip("=")
                now = "2026-11-26T12:00:00Z"
                tools = [t.get("type") for t in body.get("tools") or []]
                content = [{"type": "text", "text": "Here is your picture."}]
                if "image_generation" in tools:
                    content.append({"type": "tool_file", "tool": "image_generation", "file_id": file_id,
                                    "file_name": "image_generated_0", "file_type": "png"})
                self._json(200, {
                    "object": "conversation.response", "conversation_id": "conv-1",
                    "outputs": [
                        {"object": "entry", "type": "tool.execution", "name": "image_generation",
                         "arguments": json.dumps({"prompt": prompt}), "created_at": now, "completed_at": now,
                         "id": "tool-1"},
                        {"object": "entry", "type": "message.output", "role": "assistant", "model": model,
                         "created_at": now, "completed_at": now, "id": "msg-1", "content": content},
                    ],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 6, "total_tokens": 16},
                })

            def _event(self, payload: dict):
                self._chunk(b"data: " + json.dumps(payload).encode() + b"\n\n")

            def _chunk(self, data: bytes):
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def _json(self, status: int, payload: dict, headers: dict | None = None):
                self._send(status, json.dumps(payload).encode(), "application/json", headers)

            def _send(self, status: int, data: bytes, content_type: str, headers: dict | None = None):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler


class _QuietServer(ThreadingHTTPServer):
    request_queue_size = 128
    def handle_error(self, request, client_address):
        pass  # connections dropped on purpose (cut, stall) are not news


def _headers(handler: BaseHTTPRequestHandler) -> dict:
    return {name.lower(): value for name, value in handler.headers.items()}


class LoopbackProcess:
    """The same server in a process of its own, so that its work does not compete with the code under test
    for the interpreter (benchmarks). ``url``/``v1`` as on LoopbackServer; requests are not visible here."""

    def __init__(self, api_key: str | None = None):
        import subprocess
        import sys
        from pathlib import Path

        code = (
            "import sys, time\n"
            "from tests.loopback import LoopbackServer\n"
            "server = LoopbackServer(api_key=sys.argv[1] or None).start()\n"
            "print(server.url, flush=True)\n"
            "sys.stdin.read()\n"
        )
        self.process = subprocess.Popen([sys.executable, "-c", code, api_key or ""], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1])
        self.url = self.process.stdout.readline().strip()
        self.v1 = self.url + "/v1"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.process.stdin.close()
        self.process.terminate()
        self.process.wait(10)
