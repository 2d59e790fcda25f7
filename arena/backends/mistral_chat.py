"""Mistral API chat with vision (mistral-medium-latest, mistral-small-latest…), streamed."""

from __future__ import annotations

import random
import time
from email.utils import parsedate_to_datetime
from functools import cached_property
from typing import TYPE_CHECKING, Callable, TypeVar

from arena import api_keys
from arena.backends.base import Backend
from arena.errors import NO_ANSWER, IncompleteAnswer, check_finished
from arena.images import InputImage
from arena.request import Request

if TYPE_CHECKING:
    from mistralai.client import Mistral

    from arena.catalog import ModelEntry

T = TypeVar("T")
# What mistralai itself retries for chat, conversations and files.
RETRIED_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_WAIT_S = 60.0


def make_client(entry: "ModelEntry") -> "Mistral":
    from mistralai.client import Mistral
    from mistralai.client.utils import BackoffStrategy, RetryConfig

    key = api_keys.api_key(entry.api_key_env) if entry.api_key_env else None
    return Mistral(
        api_key=key or "",
        server_url=entry.base_url,
        # The SDK retries until a time runs out; max_retries is a count, kept by with_retries.
        retry_config=RetryConfig("none", BackoffStrategy(0, 0, 1.0, 0), False),
        timeout_ms=int(entry.read_timeout_s * 1000),
    )


def with_retries(call: Callable[[], T], retries: int) -> T:
    """``call()``, tried again up to ``retries`` times after a 429, a 5xx or a failed connection.

    Waits as the server's Retry-After says, or 0.5 s, 1 s, 2 s… (at most 10 s) when it says nothing."""
    attempt = 0
    while True:
        try:
            return call()
        except Exception as error:
            if attempt >= retries or not _retryable(error):
                raise
            time.sleep(_wait_s(error, attempt))
            attempt += 1


def _retryable(error: Exception) -> bool:
    import httpx2
    from mistralai.client.errors import MistralError

    if isinstance(error, MistralError):
        return error.status_code in RETRIED_STATUS
    return isinstance(error, (httpx2.NetworkError, httpx2.TimeoutException))


def _wait_s(error: Exception, attempt: int) -> float:
    headers = getattr(getattr(error, "raw_response", None), "headers", {})
    asked = _seconds(headers.get("retry-after-ms"), scale=1000)
    if asked is None:
        asked = _seconds(headers.get("retry-after"))
    if asked is not None:
        return min(asked, MAX_WAIT_S)
    return min(0.5 * 2**attempt, 10.0) + random.uniform(0, 0.25)


def _seconds(value: str | None, scale: float = 1.0) -> float | None:
    """A Retry-After value (seconds, or an HTTP date) in seconds; None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value) / scale)
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def content(text: str, image: InputImage | None) -> str | list[dict]:
    if image is None:
        return text
    return [{"type": "text", "text": text}, {"type": "image_url", "image_url": image.data_url()}]


def text_of(content) -> str:
    """A message's content as text: a string, or the text parts of a list of chunks."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(getattr(part, "text", "") or "" for part in content if getattr(part, "type", "") == "text")


class MistralChat(Backend):
    label = "Mistral API chat"
    image_input = True
    key_env = "MISTRAL_API_KEY"
    libraries = ("mistralai",)
    reads = frozenset({"max_tokens", "temperature", "top_p", "seed"})

    @cached_property
    def client(self) -> "Mistral":
        return make_client(self.entry)

    def generate(self, request: Request, out) -> None:
        params = self.params(request)
        options = {
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "random_seed": params.seed,
        }
        options = {k: v for k, v in options.items() if v is not None} | self.entry.extra
        out.record(**options)
        messages = [{"role": turn.role, "content": content(turn.text, turn.image)} for turn in request.turns()]
        if not request.stream:
            answer = with_retries(
                lambda: self.client.chat.complete(model=self.entry.model, messages=messages, **options),
                self.entry.max_retries,
            )
            if not answer.choices:
                raise IncompleteAnswer(NO_ANSWER)
            out.text(text_of(answer.choices[0].message.content))
            if answer.usage is not None:
                out.usage(answer.usage.completion_tokens)
            return
        stream = with_retries(
            lambda: self.client.chat.stream(model=self.entry.model, messages=messages, **options),
            self.entry.max_retries,
        )
        finish_reason, got_text = None, False
        with stream as events:
            for event in events:
                if out.cancelled.is_set():
                    return
                chunk = event.data
                if chunk.choices:
                    choice = chunk.choices[0]
                    text = text_of(choice.delta.content)
                    if text:
                        out.text(text)
                        got_text = True
                    finish_reason = choice.finish_reason or finish_reason
                if chunk.usage is not None:
                    out.usage(chunk.usage.completion_tokens)
        check_finished(finish_reason, got_text)
