"""OpenAI chat completions, streamed: OpenAI itself and any compatible server (Ollama, llama.cpp, vLLM, LM Studio)."""

from __future__ import annotations

from functools import cache, cached_property
from typing import TYPE_CHECKING

from arena import secrets
from arena.backends.base import Backend
from arena.errors import NO_ANSWER, IncompleteAnswer, check_finished
from arena.images import InputImage
from arena.request import Request

if TYPE_CHECKING:
    import ssl

    import openai

    from arena.catalog import ModelEntry

# Compatible servers want any non-empty key when they want none at all.
_KEYLESS = "not-needed"


def make_client(entry: "ModelEntry") -> "openai.OpenAI":
    import openai

    key = secrets.api_key(entry.api_key_env) if entry.api_key_env else None
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
        stream = self.client.chat.completions.create(
            model=self.entry.model, messages=sent, stream=True, stream_options={"include_usage": True}, **options,
        )
        finish_reason, got_text = None, False
        with stream:
            for chunk in stream:
                if out.cancelled.is_set():
                    return
                if chunk.choices:
                    choice = chunk.choices[0]
                    if choice.delta is not None and choice.delta.content:
                        out.text(choice.delta.content)
                        got_text = True
                    finish_reason = choice.finish_reason or finish_reason
                if chunk.usage is not None:
                    out.usage(chunk.usage.completion_tokens)
        check_finished(finish_reason, got_text)

    def close(self) -> None:
        if "client" in self.__dict__:
            self.client.close()
