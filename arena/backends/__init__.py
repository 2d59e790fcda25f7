"""The one registry of backend kinds: a kind's name → its class, as "module:Class" imported on first use.

Every backend module is light to import (SDKs, torch and transformers are imported when a model is first used),
so the catalog can ask a kind's class what it outputs or which key it needs without slowing start-up.
"""

from __future__ import annotations

import importlib
from functools import cache

from arena.backends.base import Backend, BackendContext

REGISTRY: dict[str, str] = {
    "mistral-chat": "arena.backends.mistral_chat:MistralChat",
    "mistral-image": "arena.backends.mistral_image:MistralImage",
    "openai-chat": "arena.backends.openai_chat:OpenAIChat",
    "openai-image": "arena.backends.openai_image:OpenAIImage",
    "transformers": "arena.backends.transformers_vlm:TransformersVLM",
    "diffusers": "arena.backends.diffusers_t2i:DiffusersText2Image",
}
KINDS: tuple[str, ...] = tuple(REGISTRY)


@cache
def backend_class(kind: str) -> type[Backend]:
    module_name, class_name = REGISTRY[kind].split(":")
    return getattr(importlib.import_module(module_name), class_name)


__all__ = ["Backend", "BackendContext", "KINDS", "REGISTRY", "backend_class"]
