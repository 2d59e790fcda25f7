"""Hub weights for catalog entries: which files a load needs, what the HF cache holds, and whether they fit.

Everything goes through huggingface_hub and its cache (HF_HOME / HF_HUB_CACHE, HF_TOKEN, HF_ENDPOINT,
HF_HUB_OFFLINE): a model pulled by Arena is the same cache folder any other tool reads, and one pulled by another
tool counts as downloaded here.

``status(entry)`` says, without downloading anything, whether an entry's weights are downloaded (size on disk),
not downloaded (bytes to fetch), gated, missing, too big for this machine (an estimate from the repository's file
sizes and dtype against free RAM or GPU memory) or out of reach (offline).
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from arena import api_keys, offline
from arena.errors import error_chain
from arena.net import reachable

if TYPE_CHECKING:
    from arena.catalog import ModelEntry

STATUS_TTL_S = 60.0
OFFLINE_SENTENCE = "weights not in the Hugging Face cache (not downloaded), and HF_HUB_OFFLINE is set"
# How much more than the weights a loaded model takes (activations, buffers, the processor), as a factor.
LOAD_OVERHEAD = 1.2
# Files a loader may read besides weights; anything else (pictures, ONNX, GGUF, .bin next to safetensors…) is left.
_CONFIG_SUFFIXES = (".json", ".txt", ".model", ".jinja", ".tiktoken", ".vocab")
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".onnx", ".onnx_data",
                    ".gguf", ".tflite", ".ot", ".mlmodel", ".npz", ".pb")
# A diffusers component folder holds one of these.
_COMPONENT_CONFIGS = ("config.json", "scheduler_config.json", "tokenizer_config.json", "preprocessor_config.json")
_BYTES_PER_DTYPE = {"F64": 8, "F32": 4, "BF16": 2, "F16": 2, "F8_E4M3": 1, "F8_E5M2": 1, "I64": 8, "I32": 4,
                    "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


@dataclass(frozen=True)
class RepoFile:
    path: str
    size: int
    sha256: str | None = None  # an LFS file's hash, which names its blob (and a partial download of it)


@dataclass(frozen=True)
class Plan:
    """The files one entry's loader needs from one commit of its repository."""

    repo_id: str
    commit: str
    files: tuple[RepoFile, ...]
    variant: str | None = None
    parameters: int | None = None  # from the Hub's safetensors summary, when it gives one
    revision: str = "main"

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def weight_bytes(self) -> int:
        return sum(f.size for f in self.files if f.path.endswith(_WEIGHT_SUFFIXES))


@dataclass
class WeightsStatus:
    state: str  # downloaded, not-downloaded, gated, missing, wont-fit, offline, not-hub
    sentence: str = ""
    disk_bytes: int = 0
    download_bytes: int = 0
    need_bytes: int = 0
    free_bytes: int = 0
    plan: Plan | None = field(default=None, repr=False)
    snapshot: Path | None = None  # the downloaded folder, for from_pretrained

    @property
    def ok(self) -> bool:
        return self.state in ("downloaded", "not-hub")


class HubError(RuntimeError):
    """A hub problem said in one sentence (gated, missing, offline, no disk space…): shown as is. ``state`` is the
    WeightsStatus state it means for the entry."""

    def __init__(self, sentence: str, state: str = "failed"):
        super().__init__(sentence)
        self.state = state


# --- which entries, which device -----------------------------------------------------------------------------


def is_hub_entry(entry: "ModelEntry") -> bool:
    """A local kind whose model is a Hugging Face repository id (not offline:NAME, not a folder)."""
    if not entry.is_local or offline.offline_name(entry.model) is not None:
        return False
    if entry.model.startswith((".", "/", "~")) or Path(entry.model).expanduser().is_dir():
        return False
    return re.fullmatch(r"[\w.\-]+/[\w.\-]+", entry.model) is not None


def endpoint() -> str:
    from huggingface_hub import constants

    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def cache_dir() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def expected_device(entry: "ModelEntry") -> str:
    """Where the entry will run, found without importing torch unless a GPU driver is present."""
    if entry.device:
        return entry.device
    if _cuda_available():
        return "cuda"
    if platform.system() == "Darwin" and platform.machine() == "arm64":
        return "mps"
    return "cpu"


def _cuda_available() -> bool:
    if "torch" not in sys.modules and not Path("/proc/driver/nvidia/version").exists():
        return False
    import torch

    return torch.cuda.is_available()


def dtype_bytes(entry: "ModelEntry", device: str) -> int:
    if entry.dtype:
        return 4 if entry.dtype in ("float32", "float") else 2
    return 4 if device == "cpu" else 2


def free_memory(device: str) -> tuple[int, str]:
    """(bytes free now, what they are) on the device a model will load onto."""
    if device.startswith("cuda"):
        import torch

        index = int(device.split(":", 1)[1]) if ":" in device else 0
        return int(torch.cuda.mem_get_info(index)[0]), "free GPU memory"
    import psutil

    return int(psutil.virtual_memory().available), "free RAM"


def human_bytes(count: int) -> str:
    if count >= 10**12:
        return f"{count / 10**12:,.0f} TB"
    if count >= 10**9:
        return f"{count / 10**9:.1f} GB" if count >= 10 * 10**9 else f"{count / 10**9:.2f} GB"
    if count >= 10**6:
        return f"{count / 10**6:.0f} MB"
    return f"{max(count, 0) / 10**3:.0f} kB"


# --- which files a loader reads ------------------------------------------------------------------------------


def _variant_of(name: str) -> str | None:
    """``diffusion_pytorch_model.fp16.safetensors`` -> fp16; ``model.safetensors`` -> None."""
    base = name.rsplit("/", 1)[-1]
    if base.endswith(".safetensors"):
        parts = base[: -len(".safetensors")].split(".")
    elif ".safetensors.index." in base:  # diffusion_pytorch_model.safetensors.index.fp16.json
        parts = base.split(".safetensors.index.", 1)[1].split(".")[:-1]
        return parts[0] if parts else None
    else:
        return None
    return parts[-1] if len(parts) > 1 else None


def is_weights(path: str) -> bool:
    return path.endswith(_WEIGHT_SUFFIXES)


def needed_files(kind: str, files: dict[str, int], variant: str | None) -> list[RepoFile]:
    """What ``from_pretrained`` reads: configs, tokenizer files and safetensors weights (the variant's, for
    diffusers); not .bin/ONNX/other variants, nor a single-file checkpoint beside the diffusers folders."""
    if kind == "diffusers":
        folders = {p.rsplit("/", 1)[0] for p in files if "/" in p and p.rsplit("/", 1)[1] in _COMPONENT_CONFIGS}
        chosen = [p for p in files if p == "model_index.json"]
        for folder in sorted(folders):
            inside = [p for p in files if p.rsplit("/", 1)[0] == folder and "/" in p]
            chosen += [p for p in inside if p.endswith(_CONFIG_SUFFIXES) and ".safetensors.index" not in p]
            chosen += _weights(inside, variant)
    else:
        top = [p for p in files if "/" not in p]
        chosen = [p for p in top if p.endswith(_CONFIG_SUFFIXES) and ".index.json" not in p]
        chosen += _transformers_weights(top)
    weights_last = sorted(chosen, key=lambda p: (is_weights(p), p))
    return [RepoFile(p, files[p]) for p in weights_last]


def _transformers_weights(paths: list[str]) -> list[str]:
    """Exactly what transformers reads: model.safetensors, or the index and its model-0000N-of-0000M shards (not a
    consolidated.safetensors beside them); .bin only where there are no safetensors."""
    for stem, suffix in (("model", "safetensors"), ("pytorch_model", "bin")):
        if f"{stem}.{suffix}.index.json" in paths:
            shards = [p for p in paths if re.fullmatch(rf"{stem}-\d+-of-\d+\.{suffix}", p)]
            return [f"{stem}.{suffix}.index.json", *shards]
        if f"{stem}.{suffix}" in paths:
            return [f"{stem}.{suffix}"]
    return []


def _weights(paths: list[str], variant: str | None) -> list[str]:
    safetensors = [p for p in paths if p.endswith(".safetensors") or ".safetensors.index" in p]
    if variant and any(_variant_of(p) == variant for p in safetensors):
        return [p for p in safetensors if _variant_of(p) == variant]
    plain = [p for p in safetensors if _variant_of(p) is None]
    if plain:
        return plain
    return [p for p in paths if re.search(r"(pytorch_model|diffusion_pytorch_model)[\w\-.]*\.bin(\.index\.json)?$", p)
            or p.endswith(".bin.index.json")]


def choose_variant(kind: str, files: dict[str, int] | list[str], device: str, entry: "ModelEntry") -> str | None:
    """diffusers: the fp16 files on a GPU (or when the entry asks for a 16-bit dtype), when the repo has them."""
    if kind != "diffusers" or dtype_bytes(entry, device) != 2:
        return None
    return "fp16" if any(_variant_of(p) == "fp16" for p in files) else None


def folder_variant(source: str, itemsize: int) -> str | None:
    """The variant a diffusers folder should be loaded with: fp16 files for a 16-bit dtype, or when they are
    the only weights it holds (a pull for a GPU fetches only those)."""
    folder = Path(source)
    if not folder.is_dir():
        return None
    weights = [p.name for p in folder.glob("*/*.safetensors")]
    has_fp16 = any(_variant_of(name) == "fp16" for name in weights)
    has_plain = any(_variant_of(name) is None for name in weights)
    return "fp16" if has_fp16 and (itemsize == 2 or not has_plain) else None


# --- what the cache holds ------------------------------------------------------------------------------------


def local_snapshot(entry: "ModelEntry") -> Path | None:
    """The cached snapshot of this entry's repository when it holds everything the loader needs, else None."""
    from huggingface_hub import try_to_load_from_cache

    try:
        marker = try_to_load_from_cache(entry.model, entry.backend.weights_marker, cache_dir=cache_dir())
    except ValueError:
        return None
    if not isinstance(marker, str):
        return None
    folder = Path(marker).parent
    return folder if snapshot_complete(folder, entry.kind) else None


def snapshot_complete(folder: Path, kind: str) -> bool:
    """Every weight file the loader reads is there (weights are fetched last, so configs came before them)."""
    if kind == "diffusers":
        try:
            index = json.loads((folder / "model_index.json").read_text())
        except (OSError, ValueError):
            return False
        for name, value in index.items():
            sub = folder / name
            if name.startswith("_") or not isinstance(value, list) or value[0] is None:
                continue
            if (sub / "config.json").exists() and not _folder_weights_complete(sub):
                return False
        return True
    return _folder_weights_complete(folder)


def _folder_weights_complete(folder: Path) -> bool:
    indexes = list(folder.glob("*.safetensors.index*.json")) + list(folder.glob("*.bin.index*.json"))
    for index in indexes:
        try:
            shards = set(json.loads(index.read_text())["weight_map"].values())
        except (OSError, ValueError, KeyError):
            return False
        if all((folder / shard).exists() for shard in shards):
            return True
    if indexes:
        return False
    return any(p.exists() for p in folder.glob("*.safetensors")) or any(p.exists() for p in folder.glob("*.bin"))


def folder_bytes(folder: Path) -> int:
    """Size on disk of a snapshot (its files are links into the cache's blobs)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


_BLOB_NAME = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def blob_name(etag: str | None) -> str | None:
    """A server's file hash or ETag as the name of a file in the cache: a git or LFS hash, or None for anything
    else (a name like ``../x`` must never become a path)."""
    return etag if etag and _BLOB_NAME.fullmatch(etag) else None


def blobs_dir(repo_id: str) -> Path:
    from huggingface_hub.file_download import repo_folder_name

    return cache_dir() / repo_folder_name(repo_id=repo_id, repo_type="model") / "blobs"


def partial_bytes(repo_id: str, repo_file: RepoFile) -> int:
    """Bytes of this file an interrupted download left in the cache (``blobs/<sha256>.incomplete``)."""
    if not repo_file.sha256:
        return 0
    partial = blobs_dir(repo_id) / f"{repo_file.sha256}.incomplete"
    return min(partial.stat().st_size, repo_file.size) if partial.exists() else 0


def cached(repo_id: str, commit: str, path: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(repo_id, path, cache_dir=cache_dir(), revision=commit), str)


# --- what the Hub holds --------------------------------------------------------------------------------------


def remote_plan(entry: "ModelEntry", device: str) -> Plan:
    """The files to fetch, from one look-up of the repository; raises HubError with the sentence to show."""
    try:
        info = _model_info(entry.model)
        siblings = [s for s in info.get("siblings") or [] if isinstance(s, dict) and s.get("rfilename")]
        files = {s["rfilename"]: int(s.get("size") or 0) for s in siblings}
        hashes = {s["rfilename"]: blob_name(s["lfs"].get("sha256")) for s in siblings if isinstance(s.get("lfs"), dict)}
        variant = choose_variant(entry.kind, files, device, entry)
        needed = tuple(RepoFile(f.path, f.size, hashes.get(f.path)) for f in needed_files(entry.kind, files, variant))
        plan = Plan(entry.model, info.get("sha") or "main", needed, variant, _parameters(info))
        if info.get("gated") and plan.files:
            _check_access(plan)
        return plan
    except HubError:
        raise
    except Exception as error:  # noqa: BLE001  (said in one sentence below)
        raise hub_error(error, entry.model) from None


def _model_info(repo_id: str) -> dict:
    """The Hub's JSON about a repository, its files' sizes and LFS hashes included: the request
    ``HfApi.model_info(repo_id, files_metadata=True)`` makes, through the same session, headers and error checks,
    without importing hf_api (about a tenth of a second of every pull's start)."""
    from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

    response = get_session().get(f"{endpoint()}/api/models/{repo_id}", params={"blobs": True},
                                 headers=build_hf_headers(), timeout=10)
    hf_raise_for_status(response)
    return response.json()


def _parameters(info: dict) -> int | None:
    summary = info.get("safetensors")
    total = summary.get("total") if isinstance(summary, dict) else None
    return int(total) if total else None


def _check_access(plan: Plan) -> None:
    """A gated repository lists its files to anyone; only a download says whether HF_TOKEN may read them."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    url = hf_hub_url(plan.repo_id, plan.files[0].path, revision=plan.commit, endpoint=endpoint())
    get_hf_file_metadata(url, timeout=10)


def describe_hub_error(error: BaseException, repo_id: str) -> str:
    """One sentence for a failed hub call: gated, missing, offline, lost connection, disk full…"""
    return str(hub_error(error, repo_id))


def hub_error(error: BaseException, repo_id: str) -> HubError:
    """A failed hub call as a HubError: its sentence, and what it means for the entry (gated, missing, offline)."""
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    if isinstance(error, HubError):
        return error
    page = f"{endpoint()}/{repo_id}"
    names = {type(e).__name__ for e in error_chain(error)}
    if isinstance(error, OSError) and getattr(error, "errno", None) == 28:
        return HubError(f"the disk is full: {cache_dir()} has no room left for {repo_id}")
    if isinstance(error, GatedRepoError):
        if os.environ.get("HF_TOKEN"):
            return HubError(f"gated: HF_TOKEN has no access to {repo_id} yet; accept the licence on {page}", "gated")
        return HubError(f"gated: accept the licence on {page}, then set HF_TOKEN", "gated")
    if isinstance(error, RepositoryNotFoundError):
        return HubError(f"no repository {repo_id} on the Hub (check the name; a private one needs HF_TOKEN)",
                        "missing")
    if isinstance(error, (RevisionNotFoundError, EntryNotFoundError)):
        return HubError(f"{repo_id} on the Hub lacks a file the loader needs ({_last_line(error)})", "missing")
    if isinstance(error, OfflineModeIsEnabled) or hub_offline():
        return HubError(OFFLINE_SENTENCE, "offline")
    if any("Timeout" in n for n in names):
        return HubError(f"the Hub ({endpoint()}) did not answer in time", "offline")
    if any(w in n for n in names for w in ("RemoteProtocol", "ReadError", "IncompleteRead", "ChunkedEncoding")):
        return HubError("the connection to the Hub was lost; Download again resumes where it stopped", "offline")
    if any("Connect" in n for n in names) or isinstance(error, ConnectionError):
        return HubError(f"the Hub ({endpoint()}) cannot be reached", "offline")
    status = getattr(getattr(error, "response", None), "status_code", None)
    if status:
        return HubError(api_keys.scrub(f"the Hub refused {repo_id} (HTTP {status}): {_last_line(error)}"))
    return HubError(api_keys.scrub(f"{type(error).__name__}: {_last_line(error)}"))


def _last_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return api_keys.scrub(lines[-1][:200]) if lines else type(error).__name__


# --- memory --------------------------------------------------------------------------------------------------


def estimate_load_bytes(entry: "ModelEntry", device: str, plan: Plan | None = None,
                        folder: Path | None = None) -> int:
    """About how many bytes the loaded weights take in the dtype the loader will use: transformers from the
    parameter count (the Hub's summary, or the safetensors headers once the files are here), diffusers from the
    files' sizes (fp32 files, or the fp16 variant's)."""
    target = dtype_bytes(entry, device)
    if entry.kind != "diffusers":
        parameters = plan.parameters if plan is not None else None
        if parameters is None and folder is not None:
            parameters = _header_parameters(sorted(folder.glob("*.safetensors")))
        if parameters:
            return int(parameters * target * LOAD_OVERHEAD)
    if folder is not None:
        weights = list(folder.rglob("*.safetensors"))
        size = sum(p.stat().st_size for p in weights)
        fp16 = any(_variant_of(p.name) == "fp16" for p in weights)
    elif plan is not None:
        size, fp16 = plan.weight_bytes, plan.variant == "fp16"
    else:
        return 0
    factor = target / (2 if fp16 else 4) if entry.kind == "diffusers" else 1
    return int(size * factor * LOAD_OVERHEAD)


def _header_parameters(paths: list[Path]) -> int | None:
    """Parameters counted from safetensors headers (the first few kB of each file)."""
    total = 0
    for path in paths:
        try:
            with open(path, "rb") as handle:
                length = int.from_bytes(handle.read(8), "little")
                if not 0 < length < 100_000_000:
                    return None
                header = json.loads(handle.read(length))
        except (OSError, ValueError):
            return None
        for name, tensor in header.items():
            if name != "__metadata__":
                count = 1
                for dim in tensor["shape"]:
                    count *= dim
                total += count
    return total or None


def fit_sentence(need: int, free: int, where: str) -> str:
    return f"will not fit: the weights need about {human_bytes(need)}, this machine has {human_bytes(free)} {where}"


# --- the status of one entry ---------------------------------------------------------------------------------

_lock = threading.Lock()
_statuses: dict[str, tuple[float, WeightsStatus]] = {}


def status(entry: "ModelEntry", fresh: bool = False) -> WeightsStatus:
    """What an entry's weights are here and on the Hub, kept for STATUS_TTL_S (``forget`` clears)."""
    key = f"{entry.kind}:{entry.model}:{entry.device}:{entry.dtype}"
    with _lock:
        kept = _statuses.get(key)
    if kept and not fresh and time.monotonic() - kept[0] < STATUS_TTL_S:
        return kept[1]
    result = _status(entry)
    with _lock:
        _statuses[key] = (time.monotonic(), result)
    return result


def forget(repo_id: str | None = None) -> None:
    with _lock:
        for key in [k for k in _statuses if repo_id is None or k.split(":", 1)[1].startswith(f"{repo_id}:")]:
            del _statuses[key]


def _status(entry: "ModelEntry") -> WeightsStatus:
    if not is_hub_entry(entry):
        return WeightsStatus("not-hub")
    device = expected_device(entry)
    snapshot = local_snapshot(entry)
    if snapshot is not None:
        disk = folder_bytes(snapshot)
        need = estimate_load_bytes(entry, device, folder=snapshot)
        free, where = free_memory(device)
        if need > free:
            return WeightsStatus("wont-fit", fit_sentence(need, free, where), disk_bytes=disk, need_bytes=need,
                                 free_bytes=free, snapshot=snapshot)
        return WeightsStatus("downloaded", f"downloaded, {human_bytes(disk)} on disk", disk_bytes=disk,
                             need_bytes=need, free_bytes=free, snapshot=snapshot)
    if hub_offline():
        return WeightsStatus("offline", OFFLINE_SENTENCE)
    if not reachable(endpoint(), timeout=2.0):
        return WeightsStatus("offline", f"weights not in the Hugging Face cache, and the Hub ({endpoint()}) cannot "
                                        "be reached")
    try:
        plan = remote_plan(entry, device)
    except HubError as error:
        return WeightsStatus(error.state if error.state != "failed" else "missing", str(error))
    todo = [f for f in plan.files if not cached(plan.repo_id, plan.commit, f.path)]
    kept = sum(partial_bytes(plan.repo_id, f) for f in todo)
    missing = sum(f.size for f in todo) - kept
    need = estimate_load_bytes(entry, device, plan=plan)
    free, where = free_memory(device)
    if need > free:
        return WeightsStatus("wont-fit", fit_sentence(need, free, where), download_bytes=missing, need_bytes=need,
                             free_bytes=free, plan=plan)
    sentence = f"not downloaded: {human_bytes(missing)} to download"
    if kept:
        sentence = f"partly downloaded ({human_bytes(kept)} kept): {human_bytes(missing)} more to download"
    return WeightsStatus("not-downloaded", sentence, download_bytes=missing, need_bytes=need, free_bytes=free,
                         plan=plan)
