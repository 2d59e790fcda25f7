"""Small local model servers on 127.0.0.1 for discovery tests, speaking like Ollama, llama.cpp and LM Studio.

Both answer the OpenAI-compatible ``GET /v1/models`` and ``POST /v1/chat/completions`` (streamed or not, the
answer quoting the prompt and saying whether an image came). On top:

    OllamaServer     POST /api/show {"model": ID} -> {"capabilities": [...]} (404 for a model it does not have)
    LlamaCppServer   GET /props -> {"modalities": {"vision": ...}}
    LMStudioServer   GET /api/v0/models -> {"data": [{"id", "type": llm | vlm | embeddings}]}

``server.models`` (id -> capabilities) may be changed while it runs (a model pulled or removed); every request
is kept in ``server.requests`` so tests can check what a model was sent.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.loopback import Seen, answer_words


class LocalServer:
    flavour = "openai"

    def __init__(self, models: dict[str, list[str]]):
        self.models = dict(models)
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, name=f"{self.flavour}-loopback", daemon=True)

    @property
    def v1(self) -> str:
        return self.url + "/v1"

    def __enter__(self) -> "LocalServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def chats(self, model: str) -> list[dict]:
        """The bodies of the chat requests that named ``model``."""
        with self._lock:
            return [s.body for s in self.requests
                    if s.path == "/v1/chat/completions" and s.body and s.body.get("model") == model]

    def route(self, method: str, path: str, body: dict | None) -> tuple[int, dict] | None:
        """The server's own routes beside the OpenAI ones; None when it has none for this request."""
        return None

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self._answer("GET", None)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    return self._json(400, {"error": "body is not JSON"})
                self._answer("POST", body)

            def _answer(self, method: str, body: dict | None):
                with server._lock:
                    server.requests.append(Seen(method, self.path, {}, body, time.monotonic()))
                if method == "GET" and self.path == "/v1/models":
                    return self._json(200, {"object": "list", "data": [
                        {"id": name, "object": "model", "created": 0, "owned_by": "library"}
                        for name in list(server.models)]})
                if method == "POST" and self.path == "/v1/chat/completions":
                    return self._chat(body or {})
                own = server.route(method, self.path, body)
                if own is not None:
                    return self._json(*own)
                self._json(404, {"error": f"no route {self.path}"})

            def _chat(self, body: dict):
                model = str(body.get("model", ""))
                if model not in server.models:
                    return self._json(404, {"error": {"message": f"model '{model}' not found", "type": "not_found"}})
                words = answer_words(model, body)
                if not body.get("stream"):
                    return self._json(200, {
                        "id": "chat-1", "object": "chat.completion", "created": 0, "model": model,
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": "".join(words)}}],
                        "usage": {"prompt_tokens": 9, "completion_tokens": len(words), "total_tokens": 9 + len(words)},
                    })
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = {"id": "chat-1", "object": "chat.completion.chunk", "created": 0, "model": model}
                for word in words:
                    self._event({**chunk, "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]})
                self._event({**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                self._event({**chunk, "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": len(words),
                                                              "total_tokens": 9 + len(words)}})
                self._write(b"data: [DONE]\n\n")
                self._write(b"")

            def _event(self, payload: dict):
                self._write(b"data: " + json.dumps(payload).encode() + b"\n\n")

            def _write(self, data: bytes):
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def _json(self, status: int, payload: dict):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


class OllamaServer(LocalServer):
    flavour = "ollama"

    def route(self, method, path, body):
        if method == "POST" and path == "/api/show":
            name = str((body or {}).get("model", ""))
            if name not in self.models:
                return 404, {"error": f"model '{name}' not found"}
            return 200, {"details": {"format": "gguf"}, "capabilities": self.models[name]}
        return None


class LlamaCppServer(LocalServer):
    flavour = "llama.cpp"

    def __init__(self, model: str, vision: bool):
        super().__init__({model: []})
        self.vision = vision

    def route(self, method, path, body):
        if method == "GET" and path == "/props":
            return 200, {"model_path": "/models/model.gguf", "modalities": {"vision": self.vision, "audio": False}}
        return None


class LMStudioServer(LocalServer):
    flavour = "lmstudio"

    def __init__(self, types: dict[str, str]):
        super().__init__({model: [] for model in types})
        self.types = types

    def route(self, method, path, body):
        if method == "GET" and path == "/api/v0/models":
            return 200, {"object": "list", "data": [{"id": model, "object": "model", "type": kind, "state": "loaded"}
                                                    for model, kind in self.types.items()]}
        return None
