"""OpenAI chat completions, streamed: OpenAI itself and any compatible server (Ollama, llama.cpp, vLLM, LM Studio)."""

from __future__ import annotations

from functools import cache, cached_property
from typing import TYPE_CHECKING, Iterable, Iterator

import orjson

from arena import api_keys
from arena.backends.base import Backend
from arena.errors import NO_ANSWER, IncompleteAnswer, check_finished
from arena.images import InputImage
from arena.request import Request

if TYPE_CHECKING:
    import ssl

    import httpx2
    import openai

    from arena.catalog import ModelEntry

# Compatible servers want any non-empty key when they want none at all.
_KEYLESS = "not-needed"


def make_client(entry: "ModelEntry") -> "openai.OpenAI":
    import openai

    key = api_keys.api_key(entry.api_key_env) if entry.api_key_env else None
    return openai.OpenAI(
        api_key=key or _KEYLESS,
        base_url=entry.base_url,
        max_retries=entry.max_retries,
        timeout=openai.Timeout(entry.read_timeout_s, connect=min(10.0, entry.read_timeout_s)),
        http_client=openai.DefaultHttpxClient(verify=_tls_context()),
    )


@cache
def _tls_context() -> "ssl.SSLContext":
    """The TLS settings a client would make for itself, made once: each reads the CA bundle (~20 ms a client)."""
    import httpx2  # what the openai SDK is built on

    return httpx2.create_ssl_context()


def read_stream(response: "httpx2.Response", out) -> tuple[str | None, bool]:
    """Write a chat completion stream's text and usage into ``out``, as the SDK's own Stream reads it (an event
    with an ``error`` is an APIError; a cut or stalled connection the SDK's connection or timeout error); returns
    the finish reason and whether any text came. Every event a network read brings is written at once."""
    import httpx2
    import openai

    finish_reason, got_text, done = None, False, False
    try:
        for batch in sse_batches(response.iter_bytes()):
            texts = []
            for data in batch:
                if data.startswith(b"[DONE]"):
                    done = True
                    break
                event = orjson.loads(data)
                if not isinstance(event, dict):
                    continue
                if event.get("error"):
                    if texts:  # what came before the error is kept
                        out.text("".join(texts), pieces=len(texts))
                    raise _stream_error(event["error"], response)
                choices = event.get("choices")
                if choices and isinstance(choices[0], dict):
                    delta = choices[0].get("delta")
                    content = delta.get("content") if isinstance(delta, dict) else None
                    if content and isinstance(content, str):
                        texts.append(content)
                    finish_reason = choices[0].get("finish_reason") or finish_reason
                usage = event.get("usage")
                if isinstance(usage, dict):
                    out.usage(usage.get("completion_tokens"))
            if out.cancelled.is_set():
                break
            if texts:
                out.text("".join(texts), pieces=len(texts))
                got_text = True
            if done:
                break
    except httpx2.TimeoutException as err:
        raise openai.APITimeoutError(request=response.request) from err
    except httpx2.RequestError as err:
        raise openai.APIConnectionError(request=response.request) from err
    return finish_reason, got_text


def sse_batches(chunks: Iterable[bytes]) -> Iterator[list[bytes]]:
    """The data of the server-sent events in ``chunks`` (bytes as they come off the network), one list per chunk
    read: an event's ``data:`` lines joined by newlines; other fields (event, id, retry) and comments skipped."""
    pending = b""
    data: list[bytes] = []
    for chunk in chunks:
        *lines, pending = (pending + chunk).split(b"\n")
        batch = []
        for line in lines:
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                if data:
                    batch.append(b"\n".join(data))
                    data = []
            elif line.startswith(b"data:"):
                data.append(line[6:] if line.startswith(b"data: ") else line[5:])
        if batch:
            yield batch


def _stream_error(error, response: "httpx2.Response") -> "openai.APIError":
    import openai

    message = error.get("message") if isinstance(error, dict) else None
    if not message or not isinstance(message, str):
        message = "An error occurred during streaming"
    return openai.APIError(message=message, request=response.request, body=error)


def user_content(text: str, image: InputImage | None) -> str | list[dict]:
    if image is None:
        return text
    return [
        {"type": "text", "text": text},
        {"type": "image_url", "image_url": {"url": image.data_url()}},
    ]


def messages(request: Request) -> list[dict]:
    """The conversation so far, then the new message (only the user's turns carry images)."""
    return [{"role": turn.role, "content": user_content(turn.text, turn.image)} for turn in request.turns()]


class OpenAIChat(Backend):
    label = "OpenAI-compatible chat"
    image_input = True
    key_env = "OPENAI_API_KEY"
    libraries = ("openai",)
    reads = frozenset({"max_tokens", "temperature", "top_p", "seed"})

    @cached_property
    def client(self) -> "openai.OpenAI":
        return make_client(self.entry)

    def generate(self, request: Request, out) -> None:
        params = self.params(request)
        # OpenAI's own newer models take only max_completion_tokens; compatible servers know max_tokens.
        limit_name = "max_tokens" if self.entry.base_url else "max_completion_tokens"
        options = {
            limit_name: params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "seed": params.seed,
        }
        options = {k: v for k, v in options.items() if v is not None} | self.entry.extra
        out.record(**{k: v for k, v in options.items() if k != limit_name}, max_tokens=params.max_tokens)
        sent = messages(request)
        if not request.stream:
            answer = self.client.chat.completions.create(model=self.entry.model, messages=sent, **options)
            if not answer.choices:
                raise IncompleteAnswer(NO_ANSWER)
            if answer.choices[0].message.content:
                out.text(answer.choices[0].message.content)
            if answer.usage is not None:
                out.usage(answer.usage.completion_tokens)
            return
        # The SDK sends the request (auth, retries, timeouts, HTTP errors); the stream's events are read here as
        # plain JSON: a pydantic chunk per token cost more CPU than everything else in a streaming pane.
        with self.client.chat.completions.with_streaming_response.create(
            model=self.entry.model, messages=sent, stream=True, stream_options={"include_usage": True}, **options,
        ) as response:
            finish_reason, got_text = read_stream(response.http_response, out)
        if not out.cancelled.is_set():
            check_finished(finish_reason, got_text)

    def close(self) -> None:
        if "client" in self.__dict__:
            self.client.close()
