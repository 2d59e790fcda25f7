"""The contract every backend keeps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from arena.catalog import ModelEntry
from arena.request import GenerationParams, Request

if TYPE_CHECKING:
    from arena.backends.local import LocalModels
    from arena.pane import Pane
    from arena.settings import Settings


@dataclass
class BackendContext:
    settings: "Settings"
    local: "LocalModels"


class Backend:
    """Turns a request into text or images written to a pane.

    ``generate`` runs in its own thread. It writes text deltas, images, progress and usage to ``out`` as they
    come, checks ``out.cancelled`` between steps, and raises on failure (the engine says it in plain words).
    The engine has already removed the image when ``entry.image_input`` is false. Retries belong to the SDKs.
    """

    # Defaults for this kind, under the catalog entry's own params and the request's.
    defaults = GenerationParams(max_tokens=1024)

    def __init__(self, entry: ModelEntry, context: BackendContext):
        self.entry = entry
        self.context = context

    def params(self, request: Request) -> GenerationParams:
        return request.params.over(self.entry.params.over(self.defaults))

    def generate(self, request: Request, out: "Pane") -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the backend holds (clients, loaded weights)."""
