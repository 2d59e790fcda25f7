"""The contract every backend keeps, and what each kind says about itself."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, ClassVar, Literal

from arena.request import GenerationParams, Request

if TYPE_CHECKING:
    from arena.backends.local import LocalModels
    from arena.catalog import ModelEntry
    from arena.pane import Pane
    from arena.settings import Settings


@dataclass
class BackendContext:
    settings: "Settings"
    local: "LocalModels"


class Backend:
    """Turns a request into text or images written to a pane.

    A subclass is one kind of model (``mistral-chat``, ``diffusers``…): its class attributes say what the catalog
    and the gallery need to know about that kind, and its module imports no SDK until ``import_libraries`` or
    ``generate`` runs, so the catalog can ask the class without paying for torch or an SDK.

    ``generate`` runs in its own thread. It writes text deltas, images, progress and usage to ``out`` as they
    come, checks ``out.cancelled`` between steps, and raises on failure (the engine says it in plain words).
    The engine has already removed the image when ``entry.image_input`` is false.
    """

    label: ClassVar[str]
    output: ClassVar[Literal["text", "image"]] = "text"
    # Whether entries of this kind take an input image unless the catalog says otherwise.
    image_input: ClassVar[bool] = False
    # The variable holding the API key unless the catalog names another (None: no key).
    key_env: ClassVar[str | None] = None
    # Whether the weights run on this machine (one generation at a time per device).
    runs_locally: ClassVar[bool] = False
    # Distributions whose versions each output of this kind records, beside arena's and pillow's.
    libraries: ClassVar[tuple[str, ...]] = ()
    # The GenerationParams fields generate reads (a sweep varies only these, and the prompt).
    reads: ClassVar[frozenset[str]] = frozenset()
    # Defaults for this kind, under the catalog entry's own params and the request's.
    defaults: ClassVar[GenerationParams] = GenerationParams(max_tokens=1024)

    def __init__(self, entry: "ModelEntry", context: BackendContext):
        self.entry = entry
        self.context = context

    @classmethod
    def import_libraries(cls) -> None:
        """Import the libraries ``generate`` needs (torch takes seconds); a no-op once done."""

    @classmethod
    def libraries_imported(cls) -> bool:
        """Whether ``generate`` can start without importing anything slow (API SDKs import in well under 1 s)."""
        return True

    @classmethod
    def library_versions(cls) -> dict[str, str]:
        return _versions(("pillow", *cls.libraries))

    def params(self, request: Request) -> GenerationParams:
        return request.params.over(self.entry.params.over(self.defaults))

    def generate(self, request: Request, out: "Pane") -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the backend holds (clients, loaded weights)."""


@cache
def _versions(distributions: tuple[str, ...]) -> dict[str, str]:
    from importlib import metadata

    from arena import __version__

    versions = {"arena": __version__}
    for name in distributions:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions
