"""Mistral image generation: a conversation with the image_generation tool; the picture comes via the files API."""

from __future__ import annotations

from functools import cached_property, partial
from typing import TYPE_CHECKING

from arena.backends.base import Backend
from arena.backends.mistral_chat import make_client, text_of, with_retries
from arena.images import decode_picture
from arena.request import GenerationParams, Request

if TYPE_CHECKING:
    from mistralai.client import Mistral


class MistralImage(Backend):
    label = "Mistral API image generation"
    output = "image"
    key_env = "MISTRAL_API_KEY"
    libraries = ("mistralai",)
    defaults = GenerationParams()

    @cached_property
    def client(self) -> "Mistral":
        return make_client(self.entry)

    def generate(self, request: Request, out) -> None:
        out.activity("generating")
        response = with_retries(lambda: self.client.beta.conversations.start(
            model=self.entry.model,
            inputs=request.prompt,
            tools=[{"type": "image_generation"}],
            **self.entry.extra,
        ), self.entry.max_retries)
        file_ids = []
        for entry in response.outputs:
            if getattr(entry, "type", None) != "message.output":
                continue
            if isinstance(entry.content, str):
                out.text(entry.content)
                continue
            for part in entry.content:
                if getattr(part, "type", None) == "tool_file":
                    file_ids.append(part.file_id)
            out.text(text_of(entry.content))
        if not file_ids:
            raise ValueError("the model answered without generating an image")
        for file_id in file_ids:
            if out.cancelled.is_set():
                return
            out.activity("downloading the image")
            download = with_retries(partial(self.client.files.download, file_id=file_id), self.entry.max_retries)
            out.image(decode_picture(download.read(), "the Mistral files API"))
        if response.usage is not None:
            out.usage(response.usage.completion_tokens)
