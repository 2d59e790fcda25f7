"""The models on offer: a YAML catalog of entries, each checked for what it needs (key, weights, server)."""

from __future__ import annotations

import importlib.util
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from arena import api_keys, discovery, hub, offline
from arena.backends import KINDS, Backend, backend_class
from arena.errors import validation_message
from arena.net import reachable
from arena.request import GenerationParams
from arena.yamlfile import read_mapping

Kind = Literal[KINDS]  # type: ignore[valid-type]  (the registry's names, so pydantic lists them when one is wrong)
_UNSET: Any = object()


class CatalogError(ValueError):
    pass


class ModelEntry(BaseModel):
    """One model on offer. Keys are never written here: ``api_key_env`` names the variable that holds one."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$", max_length=80)
    kind: Kind
    model: str = Field(min_length=1, description="API model id, hub id, local folder, or offline:NAME")
    description: str = ""
    base_url: str | None = Field(None, description="an OpenAI-compatible or Mistral-compatible server")
    api_key_env: str | None = Field(_UNSET, description="variable holding the key; null for keyless servers")
    image_input: bool | None = Field(None, description="whether the model accepts an input image")
    discover: bool = Field(False, description="openai-chat with a base_url: offer every model the server lists "
                           "(GET /v1/models) as its own entry, named NAME-MODEL; model may be left out")
    params: GenerationParams = Field(default_factory=GenerationParams)
    extra: dict[str, Any] = Field(default_factory=dict, description="passed through to the library call")
    context_tokens: int = Field(32768, ge=256, description="the most a conversation may hold, in tokens (estimated); "
                                "older turns are left out, with a note, to fit")
    timeout_s: float = Field(600, gt=0, description="the most a whole answer may take")
    read_timeout_s: float = Field(60, gt=0, description="the most the server may stay silent mid-answer")
    max_retries: int = Field(2, ge=0, le=10, description="times a 429/5xx or failed connection is tried again")
    device: str | None = Field(None, description="local models: cuda, cuda:1, mps or cpu (default: best found)")
    dtype: str | None = Field(None, description="local models: bfloat16, float16 or float32")

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and urlparse(value).scheme not in ("http", "https"):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @model_validator(mode="before")
    @classmethod
    def _discovering_needs_no_model(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("discover") is True and "model" not in data:
            return {**data, "model": "*"}
        return data

    @model_validator(mode="after")
    def _discovery_needs_a_server(self) -> "ModelEntry":
        if self.discover and (self.kind != "openai-chat" or not self.base_url):
            raise PydanticCustomError("discover", "discover: true needs kind openai-chat and a base_url")
        return self

    def model_post_init(self, _context: Any) -> None:
        if self.api_key_env is _UNSET:
            self.api_key_env = self.backend.key_env
        if self.image_input is None:
            self.image_input = self.backend.image_input

    @property
    def backend(self) -> type[Backend]:
        """The class that runs this kind of model (its module is light: SDKs are imported on first use)."""
        return backend_class(self.kind)

    @property
    def output(self) -> Literal["text", "image"]:
        return self.backend.output

    @property
    def is_local(self) -> bool:
        return self.backend.runs_locally

    @property
    def is_offline_model(self) -> bool:
        return offline.offline_name(self.model) is not None

    @property
    def kind_label(self) -> str:
        label = self.backend.label
        return f"{label} (random-weight offline model)" if self.is_offline_model else label


@dataclass(frozen=True)
class Availability:
    ok: bool
    reason: str = ""


class Catalog:
    def __init__(self, entries: list[ModelEntry], source: str = "<memory>"):
        names = [e.name for e in entries]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise CatalogError(f"{source}: model names must be unique; repeated: {', '.join(duplicates)}")
        self.static = {e.name: e for e in entries if not e.discover}
        self.discovery = discovery.Discovery([e for e in entries if e.discover])
        self.source = source
        # Whatever a variable holding a key is called, its value is scrubbed from everything Arena writes.
        api_keys.treat_as_secret(e.api_key_env for e in entries if e.api_key_env)

    @classmethod
    def load(cls, path: Path | str) -> "Catalog":
        path = Path(path).expanduser()
        document = read_mapping(path, CatalogError, "a 'models:' list")
        if not isinstance(document.get("models"), list):
            raise CatalogError(f"{path}: expected a mapping with a 'models:' list")
        if not document["models"]:
            raise CatalogError(f"{path}: the 'models:' list is empty; list at least one model")
        entries = []
        for position, raw in enumerate(document["models"], start=1):
            label = raw.get("name", f"#{position}") if isinstance(raw, dict) else f"#{position}"
            try:
                entries.append(ModelEntry.model_validate(raw))
            except ValidationError as error:
                raise CatalogError(f"{path}: model {label}: {validation_message(error)}") from None
        return cls(entries, source=str(path))

    @property
    def entries(self) -> dict[str, ModelEntry]:
        """The catalog's own entries, then those its discovering servers offer now."""
        found = {e.name: e for e in self.discovery.entries() if e.name not in self.static}
        return self.static | found

    def __contains__(self, name: str) -> bool:
        return name in self.static or name in self.discovery.known or name in self.entries

    def __getitem__(self, name: str) -> ModelEntry:
        # An entry found earlier stays known, so a pane started on it keeps it while its server comes and goes.
        return self.static.get(name) or self.discovery.known.get(name) or self.entries[name]

    def __iter__(self):
        return iter(self.entries.values())

    def names(self) -> list[str]:
        return list(self.entries)


class AvailabilityChecker:
    """Says whether each entry can run now, and why not. Results are kept for a few seconds."""

    def __init__(self, ttl_s: float = 10.0, catalog: "Catalog | None" = None):
        self.ttl_s = ttl_s
        self.catalog = catalog  # its discovering servers are asked again when the checks are forgotten
        self._cache: dict[str, tuple[float, Availability]] = {}

    def check(self, entry: ModelEntry) -> Availability:
        now = time.monotonic()
        cached = self._cache.get(entry.name)
        if cached and now - cached[0] < self.ttl_s:
            return cached[1]
        result = check_availability(entry)
        self._cache[entry.name] = (now, result)
        return result

    def forget(self) -> None:
        self._cache.clear()
        hub.forget()
        if self.catalog is not None:
            self.catalog.discovery.forget()

    def check_all(self, entries: list[ModelEntry]) -> dict[str, Availability]:
        with ThreadPoolExecutor(max_workers=max(1, min(16, len(entries)))) as pool:
            return dict(zip((e.name for e in entries), pool.map(self.check, entries), strict=True))


def check_availability(entry: ModelEntry) -> Availability:
    if entry.is_local:
        return _local_availability(entry)
    if entry.api_key_env and not api_keys.api_key(entry.api_key_env):
        return Availability(False, f"{entry.api_key_env} is not set (environment or .env)")
    if entry.base_url and not reachable(entry.base_url, timeout=1.0):
        return Availability(False, f"no server answers at {entry.base_url}")
    return Availability(True)


def _local_availability(entry: ModelEntry) -> Availability:
    backend = entry.backend
    missing = [name for name in backend.libraries if importlib.util.find_spec(name) is None]
    if missing:
        return Availability(False, f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed")
    name = offline.offline_name(entry.model)
    if name is not None:
        if name not in offline.BUILDERS:
            return Availability(False, f"unknown offline model {name!r}; known: {', '.join(offline.BUILDERS)}")
        return Availability(True, "random-weight offline model, built on first use")
    marker = backend.weights_marker
    folder = Path(entry.model).expanduser()
    if folder.is_dir():
        return Availability(True) if (folder / marker).exists() else Availability(False, f"{folder} has no {marker}")
    if entry.model.startswith((".", "/", "~")):
        return Availability(False, f"no model folder at {entry.model}")
    if hub.is_hub_entry(entry):  # downloaded, not downloaded (size), gated, missing, will not fit, offline
        weights = hub.status(entry)
        return Availability(weights.ok, weights.sentence)
    if _in_hf_cache(entry.model, marker):
        return Availability(True)
    if hub_offline():
        return Availability(False, "weights not in the Hugging Face cache, and HF_HUB_OFFLINE is set")
    if not reachable("https://huggingface.co", timeout=1.0):
        return Availability(False, "weights not in the Hugging Face cache, and the Hub cannot be reached")
    return Availability(True, "weights download from the Hugging Face Hub on first use")


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _in_hf_cache(repo_id: str, filename: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(repo_id, filename), str)
    except ValueError:  # not a valid repo id
        return False


