"""Mistral image generation: a conversation with the image_generation tool; the picture comes via the files API."""

from __future__ import annotations

from functools import cached_property

from mistralai.client import Mistral

from arena.backends.base import Backend
from arena.backends.mistral_chat import make_client, text_of
from arena.images import decode_picture
from arena.request import GenerationParams, Request


class MistralImage(Backend):
    defaults = GenerationParams()

    @cached_property
    def client(self) -> Mistral:
        return make_client(self.entry)

    def generate(self, request: Request, out) -> None:
        out.activity("generating")
        response = self.client.beta.conversations.start(
            model=self.entry.model,
            inputs=request.prompt,
            tools=[{"type": "image_generation"}],
            **self.entry.extra,
        )
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
            download = self.client.files.download(file_id=file_id)
            out.image(decode_picture(download.read(), "the Mistral files API"))
        if response.usage is not None:
            out.usage(response.usage.completion_tokens)
