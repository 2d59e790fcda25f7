"""Local servers' own model lists: a catalog entry with ``discover: true`` becomes one entry per served model.

The list comes from the server's OpenAI-compatible ``GET /v1/models`` (through the openai SDK). Whether a model
takes images is asked of the server where it can say: Ollama's ``POST /api/show`` (``capabilities``), llama.cpp's
``GET /props`` (``modalities.vision``) and LM Studio's ``GET /api/v0/models`` (``type: vlm``). A server that cannot
say leaves the entry's own ``image_input``. A server that does not answer gives no entries and no error, quickly:
every address is tried at once, with a connect timeout of half a second.
"""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from arena import api_keys
from arena.net import reachable

if TYPE_CHECKING:
    from arena.catalog import ModelEntry

CONNECT_TIMEOUT_S = 0.5
READ_TIMEOUT_S = 2.0
# How long a server's list is trusted; after that it is asked again in the background while the old list serves
# ("Check availability again" asks at once, and waits for the answer).
LISTING_TTL_S = 30.0
_KEYLESS = "not-needed"  # compatible servers want some key even when they check none


@dataclass(frozen=True)
class ServedModel:
    id: str
    vision: bool | None  # None: the server cannot say


def served_models(base_url: str, api_key: str | None = None) -> list[ServedModel] | None:
    """The chat models a server offers now; None when nothing answers there or the answer makes no sense."""
    if not reachable(base_url, timeout=CONNECT_TIMEOUT_S):
        return None
    try:
        ids = _model_ids(base_url, api_key)
    except Exception:  # noqa: BLE001 (a server that answers something else is no model server for us)
        return None
    return _with_capabilities(_server_root(base_url), ids) if ids else []


def discovered_entries(source: "ModelEntry") -> list["ModelEntry"] | None:
    """One catalog entry per model that ``source``'s server offers, named ``SOURCE-MODEL``; None when no server
    answers."""
    key = api_keys.api_key(source.api_key_env) if source.api_key_env else None
    served_now = served_models(source.base_url or "", key)
    if served_now is None:
        return None
    entries, names = [], set()
    for served in served_now:
        name = entry_name(source.name, served.id, names)
        names.add(name)
        vision = source.image_input if served.vision is None else served.vision
        entries.append(source.model_copy(update={
            "name": name, "model": served.id, "discover": False, "image_input": vision,
            "description": f"{served.id}, found on {source.base_url}"
                           + ("" if served.vision is None else (" (takes images)" if vision else " (text only)")),
        }))
    return entries


def entry_name(prefix: str, model_id: str, taken: set[str]) -> str:
    """``ollama`` + ``llava:7b`` -> ``ollama-llava-7b``: the characters a catalog name allows, unique."""
    model_id = model_id.removesuffix(":latest")
    slug = re.sub(r"[^A-Za-z0-9._\-]+", "-", model_id).strip("-._") or "model"
    name = f"{prefix}-{slug}"[:80]
    number = 2
    while name in taken:
        suffix = f"-{number}"
        name = f"{prefix}-{slug}"[:80 - len(suffix)] + suffix
        number += 1
    return name


class Discovery:
    """The entries found on the catalog's discovering servers, asked again when stale or forgotten."""

    def __init__(self, sources: list["ModelEntry"], ttl_s: float = LISTING_TTL_S):
        self.sources = sources
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._found: list["ModelEntry"] = []
        self._at: float | None = None
        self._refreshing = False
        self._answers: dict[str, int | None] = {}  # source name -> models found, None when no server answered
        self.known: dict[str, "ModelEntry"] = {}  # every entry ever found: a pane started on one keeps it

    def entries(self) -> list["ModelEntry"]:
        if not self.sources:
            return []
        with self._lock:
            if self._at is None:  # never asked, or forgotten: the answer is waited for
                self._store(self._ask_all())
            elif time.monotonic() - self._at >= self.ttl_s and not self._refreshing:
                self._refreshing = True
                threading.Thread(target=self._refresh, name="discover-refresh", daemon=True).start()
            return list(self._found)

    def forget(self) -> None:
        with self._lock:
            self._at = None

    def report(self) -> list[tuple["ModelEntry", int | None]]:
        """Each discovering entry with the number of models its server offered when last asked (None: no server
        answered, or not asked yet)."""
        with self._lock:
            return [(source, self._answers.get(source.name)) for source in self.sources]

    def _refresh(self) -> None:
        try:
            answers = self._ask_all()
            with self._lock:
                if self._at is not None:  # a forget() meanwhile asks again itself
                    self._store(answers)
        finally:
            self._refreshing = False

    def _store(self, answers: list[list["ModelEntry"] | None]) -> None:
        unique: dict[str, "ModelEntry"] = {}
        for entry in (e for entries in answers for e in entries or ()):
            unique.setdefault(entry.name, entry)
        self._found, self._at = list(unique.values()), time.monotonic()
        self._answers = {s.name: None if a is None else len(a) for s, a in zip(self.sources, answers, strict=True)}
        self.known.update(unique)

    def _ask_all(self) -> list[list["ModelEntry"] | None]:
        with ThreadPoolExecutor(max_workers=len(self.sources), thread_name_prefix="discover") as pool:
            return list(pool.map(discovered_entries, self.sources))


def _model_ids(base_url: str, api_key: str | None) -> list[str]:
    import openai

    with openai.OpenAI(
        api_key=api_key or _KEYLESS, base_url=base_url, max_retries=0,
        timeout=openai.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
    ) as client:
        return list(dict.fromkeys(m.id for m in client.models.list() if isinstance(m.id, str) and m.id))


def _server_root(base_url: str) -> str:
    """``http://host:11434/v1`` -> ``http://host:11434``: where the servers' own routes live."""
    return re.sub(r"/v1/?$", "", base_url.rstrip("/"))


def _with_capabilities(root: str, ids: list[str]) -> list[ServedModel]:
    import httpx

    with httpx.Client(timeout=httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)) as http:
        lmstudio = _lmstudio_types(http, root)
        if lmstudio is not None:
            return [ServedModel(i, lmstudio.get(i) == "vlm" if i in lmstudio else None)
                    for i in ids if lmstudio.get(i) != "embeddings"]
        vision = _llamacpp_vision(http, root)
        if vision is not None:
            return [ServedModel(i, vision) for i in ids]
        with ThreadPoolExecutor(max_workers=min(8, len(ids)), thread_name_prefix="discover-show") as pool:
            capabilities = list(pool.map(lambda i: _ollama_capabilities(http, root, i), ids))
    served = []
    for model_id, caps in zip(ids, capabilities, strict=True):
        if caps is None:
            served.append(ServedModel(model_id, None))
        elif "completion" in caps or "vision" in caps:  # embedding-only models cannot chat
            served.append(ServedModel(model_id, "vision" in caps))
    return served


def _json(response) -> object:
    if response.status_code != 200:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _lmstudio_types(http, root: str) -> dict[str, str] | None:
    """LM Studio's own list: model id -> llm | vlm | embeddings; None when the server is not LM Studio."""
    try:
        body = _json(http.get(f"{root}/api/v0/models"))
    except Exception:  # noqa: BLE001
        return None
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        return None
    return {m["id"]: str(m.get("type", "")) for m in body["data"]
            if isinstance(m, dict) and isinstance(m.get("id"), str)}


def _llamacpp_vision(http, root: str) -> bool | None:
    """Whether llama.cpp's server has a vision projector loaded; None when the server is not llama.cpp."""
    try:
        body = _json(http.get(f"{root}/props"))
    except Exception:  # noqa: BLE001
        return None
    modalities = body.get("modalities") if isinstance(body, dict) else None
    return bool(modalities.get("vision")) if isinstance(modalities, dict) else None


def _ollama_capabilities(http, root: str, model_id: str) -> set[str] | None:
    """Ollama's capabilities of one model (completion, vision, tools, embedding…); None when it cannot say."""
    try:
        body = _json(http.post(f"{root}/api/show", json={"model": model_id}))
    except Exception:  # noqa: BLE001
        return None
    capabilities = body.get("capabilities") if isinstance(body, dict) else None
    if not isinstance(capabilities, list):
        return None
    return {str(c) for c in capabilities}
