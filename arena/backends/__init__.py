"""Backends, one small module per provider kind, imported only when a model of that kind is first used."""

from __future__ import annotations

import importlib

from arena.backends.base import Backend, BackendContext

REGISTRY: dict[str, str] = {
    "mistral-chat": "arena.backends.mistral_chat:MistralChat",
    "mistral-image": "arena.backends.mistral_image:MistralImage",
    "openai-chat": "arena.backends.openai_chat:OpenAIChat",
    "openai-image": "arena.backends.openai_image:OpenAIImage",
    "transformers": "arena.backends.transformers_vlm:TransformersVLM",
    "diffusers": "arena.backends.diffusers_t2i:DiffusersText2Image",
}


def backend_class(kind: str) -> type[Backend]:
    module_name, class_name = REGISTRY[kind].split(":")
    return getattr(importlib.import_module(module_name), class_name)


__all__ = ["Backend", "BackendContext", "REGISTRY", "backend_class"]
