"""OpenAI image generation (gpt-image-1, gpt-image-2): the picture comes back as base64 PNG."""

from __future__ import annotations

import base64
from functools import cached_property
from typing import TYPE_CHECKING

from arena.backends.base import Backend
from arena.backends.openai_chat import make_client
from arena.images import decode_picture
from arena.request import GenerationParams, Request

if TYPE_CHECKING:
    import openai


class OpenAIImage(Backend):
    label = "OpenAI image generation"
    output = "image"
    key_env = "OPENAI_API_KEY"
    libraries = ("openai",)
    reads = frozenset({"width", "height"})
    defaults = GenerationParams()

    @cached_property
    def client(self) -> "openai.OpenAI":
        return make_client(self.entry)

    def generate(self, request: Request, out) -> None:
        params = self.params(request)
        options: dict = {"output_format": "png"}
        if params.width and params.height:
            options["size"] = f"{params.width}x{params.height}"
        options |= self.entry.extra
        out.record(**options)
        out.activity("generating")
        result = self.client.images.generate(model=self.entry.model, prompt=request.prompt, n=1, **options)
        if out.cancelled.is_set():
            return
        if not result.data or not result.data[0].b64_json:
            raise ValueError("the server returned no base64 image (Arena asks for b64_json, not URLs)")
        out.image(decode_picture(base64.b64decode(result.data[0].b64_json), "the server"))
        if result.usage is not None:
            out.usage(result.usage.output_tokens)

    def close(self) -> None:
        if "client" in self.__dict__:
            self.client.close()
