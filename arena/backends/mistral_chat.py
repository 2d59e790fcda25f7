"""Mistral API chat with vision (mistral-medium-latest, mistral-small-latest…), streamed."""

from __future__ import annotations

from functools import cached_property

from mistralai.client import Mistral
from mistralai.client.utils import BackoffStrategy, RetryConfig

from arena import secrets
from arena.backends.base import Backend
from arena.catalog import ModelEntry
from arena.errors import NO_ANSWER, IncompleteAnswer, check_finished
from arena.images import InputImage
from arena.request import Request


def make_client(entry: ModelEntry) -> Mistral:
    key = secrets.api_key(entry.api_key_env) if entry.api_key_env else None
    retries = RetryConfig(
        "backoff",
        BackoffStrategy(initial_interval=500, max_interval=10_000, exponent=2.0, max_elapsed_time=60_000),
        retry_connection_errors=True,
    ) if entry.max_retries else RetryConfig("none", BackoffStrategy(0, 0, 1.0, 0), False)
    return Mistral(
        api_key=key or "",
        server_url=entry.base_url,
        retry_config=retries,
        timeout_ms=int(entry.read_timeout_s * 1000),
    )


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
    @cached_property
    def client(self) -> Mistral:
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
            answer = self.client.chat.complete(model=self.entry.model, messages=messages, **options)
            if not answer.choices:
                raise IncompleteAnswer(NO_ANSWER)
            out.text(text_of(answer.choices[0].message.content))
            if answer.usage is not None:
                out.usage(answer.usage.completion_tokens)
            return
        stream = self.client.chat.stream(model=self.entry.model, messages=messages, **options)
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
