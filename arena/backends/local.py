"""Local weights: loaded once and kept (LRU under a memory cap), one generation at a time per device.

``LocalBackend`` is what every local kind does before it generates: import its libraries (one kind at a time),
pick the device and dtype, find the weights, and take the model from the cache or load it. torch is imported
only when a local model is first used.
"""

from __future__ import annotations

import gc
import threading
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterator

from arena import hub, offline
from arena.backends.base import Backend
from arena.errors import IncompleteAnswer
from arena.pane import PaneClosed

if TYPE_CHECKING:
    from arena.catalog import ModelEntry

# transformers' and diffusers' lazy attributes are not safe to resolve from several threads at once.
_import_lock = threading.Lock()


@dataclass
class Loaded:
    value: Any
    nbytes: int
    device: str


class LocalBackend(Backend):
    """A kind whose weights run here. Subclasses say how to import their libraries and how to load weights."""

    runs_locally = True
    # The file every folder of this kind's weights holds (config.json, model_index.json).
    weights_marker: ClassVar[str]

    @classmethod
    def import_libraries(cls) -> None:
        with _import_lock:
            if not cls.libraries_imported():
                cls._import()
                cls._imported = True

    @classmethod
    def libraries_imported(cls) -> bool:
        return cls.__dict__.get("_imported", False)

    @classmethod
    def _import(cls) -> None:
        raise NotImplementedError

    def load(self, source: str, local_only: bool, device: str, dtype) -> Loaded:
        """Read the weights from ``source`` (a folder or a hub id) onto ``device``."""
        raise NotImplementedError

    @contextmanager
    def model(self, out) -> Iterator[tuple[Any, str]]:
        """(the loaded model, its device), holding the device until the block ends."""
        device = pick_device(self.entry)
        local = self.context.local
        with local.device_turn(device, out):
            out.activity("loading model…")
            source, local_only = resolve_weights(self.entry, local.offline_root)
            key = f"{self.entry.kind}:{source}:{device}"
            if local.peek(key) is None:
                check_fit(self.entry, source, device, local.held_bytes())
            loaded = local.get(
                key,
                lambda: self.load(source, local_only, device, pick_dtype(self.entry, device)),
                estimate=weights_size(source),
            )
            try:
                yield loaded, device
            except (MemoryError, RuntimeError) as error:
                # Out of memory while generating: this pane ends, and the weights are let go for the others.
                if isinstance(error, MemoryError) or "OutOfMemory" in type(error).__name__ \
                        or "out of memory" in str(error).lower():
                    del loaded
                    local.unload(key)
                raise


class LocalModels:
    def __init__(self, cap_bytes: int | None, offline_root: Path):
        self._cap_bytes = cap_bytes
        self.offline_root = offline_root
        self._models: OrderedDict[str, Loaded] = OrderedDict()
        self._lock = threading.Lock()
        self._device_locks: dict[str, threading.Lock] = {}
        self._key_locks: dict[str, threading.Lock] = {}
        self.loads = 0  # how many times weights were read from disk (tests check reuse)

    # --- devices -------------------------------------------------------------------------------------------

    @contextmanager
    def device_turn(self, device: str, out) -> Iterator[None]:
        """Wait for this device to be free, saying so in the pane; hold it while generating."""
        with self._lock:
            lock = self._device_locks.setdefault(device, threading.Lock())
        if not lock.acquire(blocking=False):
            out.activity(f"waiting for {device}")
            while not lock.acquire(timeout=0.1):
                if out.cancelled.is_set():
                    raise PaneClosed("cancelled while waiting for the device")
        try:
            yield
        finally:
            lock.release()

    @property
    def cap_bytes(self) -> int:
        if self._cap_bytes is None:
            self._cap_bytes = default_cap_bytes()
        return self._cap_bytes

    # --- the cache -----------------------------------------------------------------------------------------

    def get(self, key: str, load: Callable[[], Loaded], estimate: int = 0) -> Any:
        """The model under ``key``, loading it (after evicting least recently used ones) if not loaded."""
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._models:
                    self._models.move_to_end(key)
                    return self._models[key].value
            self._evict_for(estimate)
            loaded = load()
            with self._lock:
                self._models[key] = loaded
                self.loads += 1
            self._evict_for(0, keep=key)
            return loaded.value

    def peek(self, key: str) -> Any:
        """The loaded model under ``key`` without touching its recency, or None."""
        with self._lock:
            loaded = self._models.get(key)
            return loaded.value if loaded else None

    def held_bytes(self) -> int:
        """Bytes of the loaded models, which loading another may evict."""
        with self._lock:
            return sum(m.nbytes for m in self._models.values())

    def loaded(self) -> list[str]:
        with self._lock:
            return list(self._models)

    def unload(self, key: str) -> None:
        with self._lock:
            loaded = self._models.pop(key, None)
        if loaded is not None:
            _release(loaded)

    def unload_all(self) -> None:
        for key in self.loaded():
            self.unload(key)

    def _evict_for(self, incoming: int, keep: str | None = None) -> None:
        while True:
            with self._lock:
                used = sum(m.nbytes for m in self._models.values())
                victims = [k for k in self._models if k != keep]
                if used + incoming <= self.cap_bytes or not victims:
                    return
                loaded = self._models.pop(victims[0])
            _release(loaded)


def _release(loaded: Loaded) -> None:
    device = loaded.device
    loaded.value = None
    gc.collect()
    if device.startswith("cuda"):
        import torch

        torch.cuda.empty_cache()


def default_cap_bytes() -> int:
    import psutil
    import torch

    if torch.cuda.is_available():
        return int(torch.cuda.get_device_properties(0).total_memory * 0.9)
    return int(psutil.virtual_memory().total * 0.5)


def pick_device(entry: "ModelEntry") -> str:
    import torch

    if entry.device:
        return entry.device
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(entry: "ModelEntry", device: str):
    import torch

    if entry.dtype:
        return getattr(torch, entry.dtype)
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps":
        return torch.float16
    return torch.float32


def resolve_weights(entry: "ModelEntry", offline_root: Path) -> tuple[str, bool]:
    """(what to pass to from_pretrained, whether to stay off the network)."""
    from arena.catalog import hub_offline

    name = offline.offline_name(entry.model)
    if name is not None:
        return str(offline.ensure_built(name, offline_root)), True
    folder = Path(entry.model).expanduser()
    if folder.is_dir():
        return str(folder), True
    snapshot = hub.local_snapshot(entry) if hub.is_hub_entry(entry) else None
    if snapshot is not None:  # downloaded: read from the HF cache's snapshot, without asking the Hub again
        return str(snapshot), True
    return entry.model, hub_offline()


class WontFit(IncompleteAnswer):
    """Loading would run the machine out of memory: refused with the estimate (the message is shown as is)."""


def check_fit(entry: "ModelEntry", source: str, device: str, evictable: int) -> None:
    folder = Path(source)
    if not folder.is_dir():
        return
    need = hub.estimate_load_bytes(entry, device, folder=folder)
    free, where = hub.free_memory(device)
    if need > free + evictable:
        raise WontFit(hub.fit_sentence(need, free + evictable, where))


def weights_size(path: str) -> int:
    """Bytes of weight files in a local folder (0 when unknown), to make room before loading."""
    folder = Path(path)
    if not folder.is_dir():
        return 0
    return sum(f.stat().st_size for f in folder.rglob("*") if f.suffix in (".safetensors", ".bin"))


def module_bytes(*modules) -> int:
    total = 0
    for module in modules:
        if module is not None and hasattr(module, "parameters"):
            total += sum(p.numel() * p.element_size() for p in module.parameters())
            total += sum(b.numel() * b.element_size() for b in module.buffers())
    return total
