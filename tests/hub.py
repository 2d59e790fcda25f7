"""A loopback Hugging Face Hub: tiny random-weight models served over the endpoints huggingface_hub,
transformers and diffusers call (huggingface_hub 2.4: ``model_info``, ``list_repo_tree``, ``get_hf_file_metadata``,
``http_get``).

    GET  /api/models/{repo}[/revision/{rev}]     id, sha, siblings (size, blobId, lfs with ?blobs=true), gated,
                                                 safetensors {parameters, total}
    GET  /api/models/{repo}/tree/{rev}[/{dir}]   [{type, path, size, oid, lfs}]  (recursive or not)
    HEAD /{repo}/resolve/{rev}/{file}            X-Repo-Commit, ETag, Content-Length, Accept-Ranges
    GET  /{repo}/resolve/{rev}/{file}            the bytes; Range: bytes=N- answers 206

A missing file is 404 with X-Error-Code: EntryNotFound, a missing repository 404 RepoNotFound, a gated one's
files 401 GatedRepo unless the request carries its token. Never any Xet header. Switches: ``rate`` (bytes/s, to
watch progress), ``cut_once(path, at)`` (close the connection mid-file once), ``cut_then_down(path, at)`` (and
then drop every connection until ``heal()``).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

CHUNK = 1024 * 1024
LFS_BYTES = 64 * 1024  # files this large are served as LFS files (etag = sha256), as on the Hub


class Repo:
    def __init__(self, repo_id: str, folder: Path | None, gated_token: str | None = None,
                 fake: dict[str, int] | None = None, parameters: dict[str, int] | None = None):
        self.repo_id = repo_id
        self.folder = folder
        self.gated_token = gated_token
        self.sha = hashlib.sha1(repo_id.encode()).hexdigest()
        self.files: dict[str, dict] = {}
        if folder is not None:
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                relative = path.relative_to(folder).as_posix()
                data = path.read_bytes()
                self.files[relative] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                                        "oid": hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()}
        for relative, size in (fake or {}).items():  # listed with a size, never served
            self.files[relative] = {"size": size, "sha256": hashlib.sha256(relative.encode()).hexdigest(),
                                    "oid": hashlib.sha1(relative.encode()).hexdigest(), "fake": True}
        self.parameters = parameters if parameters is not None else _count_parameters(folder)

    def entry(self, path: str, blobs: bool = True) -> dict:
        info = self.files[path]
        item = {"type": "file", "path": path, "size": info["size"], "oid": info["oid"]}
        if info["size"] >= LFS_BYTES:
            item["lfs"] = {"oid": info["sha256"], "size": info["size"], "pointerSize": 134}
        return item

    def etag(self, path: str) -> str:
        info = self.files[path]
        return info["sha256"] if info["size"] >= LFS_BYTES else info["oid"]


def _count_parameters(folder: Path | None) -> dict[str, int]:
    """What the Hub's safetensors summary says: parameters by dtype over the repository's safetensors files."""
    counts: dict[str, int] = {}
    for path in (folder.rglob("*.safetensors") if folder else []):
        with open(path, "rb") as handle:
            header = json.loads(handle.read(int.from_bytes(handle.read(8), "little")))
        for name, tensor in header.items():
            if name != "__metadata__":
                count = 1
                for dim in tensor["shape"]:
                    count *= dim
                counts[tensor["dtype"]] = counts.get(tensor["dtype"], 0) + count
    return counts


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):  # a client that hung up
            super().handle_error(request, client_address)


class LoopbackHub:
    def __init__(self):
        self.repos: dict[str, Repo] = {}
        self.requests: list[tuple[str, str, dict]] = []  # (method, path, headers with lower-case names)
        self.rate: float | None = None
        self.down = False  # every connection dropped unanswered, as when the network goes away
        self._cuts: dict[str, list] = {}  # path -> [offset, times left]
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def add(self, repo_id: str, folder: Path | None = None, **options) -> Repo:
        self.repos[repo_id] = Repo(repo_id, folder, **options)
        return self.repos[repo_id]

    def cut_once(self, path: str, at: int) -> None:
        self._cuts[path] = [at, 1]

    def cut_then_down(self, path: str, at: int) -> None:
        """Drop the connection at byte ``at`` of ``path``, then drop every connection until ``heal``."""
        self._cuts[path] = [at, 1, "down"]

    def heal(self) -> None:
        self._cuts.clear()
        self.down = False

    def downloads(self, repo_id: str | None = None) -> list[tuple[str, dict]]:
        """GET requests for file bytes: (path, headers)."""
        with self._lock:
            return [(p, h) for m, p, h in self.requests if m == "GET" and "/resolve/" in p
                    and (repo_id is None or p.startswith(f"/{repo_id}/"))]

    def __enter__(self) -> "LoopbackHub":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out as separate writes: with Nagle's algorithm a client that keeps the connection
            # (as huggingface_hub does) waits for its delayed ACK, about 40 ms a request, which no real Hub costs.
            disable_nagle_algorithm = True

            def log_message(self, *args) -> None:
                pass

            def do_HEAD(self) -> None:
                self._route(head=True)

            def do_GET(self) -> None:
                self._route(head=False)

            def _route(self, head: bool) -> None:
                with hub._lock:
                    hub.requests.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
                if hub.down:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                parts = urlsplit(self.path)
                path, query = unquote(parts.path), parse_qs(parts.query)
                if match := re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/([^/]+))?", path):
                    return self._model_info(match.group(1), "blobs" in query)
                if match := re.fullmatch(r"/api/models/([^/]+/[^/]+)/tree/([^/]+)(?:/(.*))?", path):
                    return self._tree(match.group(1), match.group(3) or "", query.get("recursive") == ["true"])
                if match := re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path):
                    return self._resolve(match.group(1), match.group(3), head)
                self._error(404, "EntryNotFound", "no such endpoint")

            def _repo(self, repo_id: str) -> Repo | None:
                repo = hub.repos.get(repo_id)
                if repo is None:
                    self._error(404, "RepoNotFound", f"Repository {repo_id} not found")
                return repo

            def _model_info(self, repo_id: str, blobs: bool) -> None:
                if (repo := self._repo(repo_id)) is None:
                    return
                siblings = [({"rfilename": p} | ({"size": e["size"], "blobId": e["oid"]} | (
                    {"lfs": {"size": e["size"], "sha256": e["lfs"]["oid"], "pointerSize": 134}}
                    if "lfs" in e else {}) if blobs else {})) for p in repo.files for e in [repo.entry(p)]]
                body = {"_id": repo.sha[:24], "id": repo_id, "modelId": repo_id, "sha": repo.sha, "private": False,
                        "gated": "manual" if repo.gated_token else False, "disabled": False, "downloads": 0,
                        "likes": 0, "tags": [], "siblings": siblings,
                        "createdAt": "2026-01-01T00:00:00.000Z", "lastModified": "2026-01-01T00:00:00.000Z"}
                if repo.parameters:
                    body["safetensors"] = {"parameters": repo.parameters, "total": sum(repo.parameters.values())}
                self._json(body)

            def _tree(self, repo_id: str, folder: str, recursive: bool) -> None:
                if (repo := self._repo(repo_id)) is None:
                    return
                prefix = f"{folder.rstrip('/')}/" if folder else ""
                inside = [p for p in repo.files if p.startswith(prefix)]
                if folder and not inside:
                    return self._error(404, "EntryNotFound", f"{folder} does not exist on main")
                items, folders = [], set()
                for path in inside:
                    rest = path[len(prefix):]
                    if recursive or "/" not in rest:
                        items.append(repo.entry(path))
                    if "/" in rest:
                        folders.add(prefix + rest.split("/", 1)[0])
                items += [{"type": "directory", "path": f, "size": 0, "oid": hashlib.sha1(f.encode()).hexdigest()}
                          for f in sorted(folders)]
                self._json(items)

            def _resolve(self, repo_id: str, path: str, head: bool) -> None:
                if (repo := self._repo(repo_id)) is None:
                    return
                if repo.gated_token and self.headers.get("Authorization") != f"Bearer {repo.gated_token}":
                    return self._error(401, "GatedRepo", f"Access to model {repo_id} is restricted.")
                info = repo.files.get(path)
                if info is None or info.get("fake"):
                    return self._error(404, "EntryNotFound", f"{path} does not exist", commit=repo.sha)
                size = info["size"]
                start = 0
                if match := re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", "")):
                    start = min(int(match.group(1)), size)
                self.send_response(206 if start else 200)
                self.send_header("X-Repo-Commit", repo.sha)
                self.send_header("ETag", f'"{repo.etag(path)}"')
                self.send_header("Content-Length", str(size - start))
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Type", "application/octet-stream")
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
                self.end_headers()
                if not head:
                    self._send_file(repo.folder / path, start, path)

            def _send_file(self, file: Path, start: int, path: str) -> None:
                cut = hub._cuts.get(path)
                cut_at = None
                if cut and cut[1] > 0 and cut[0] > start:
                    cut[1] -= 1
                    cut_at = cut[0]
                    hub.down = "down" in cut
                began, sent = time.monotonic(), 0
                with open(file, "rb") as handle:
                    handle.seek(start)
                    position = start
                    while chunk := handle.read(CHUNK if hub.rate is None else max(1, int(hub.rate // 20))):
                        if cut_at is not None and position + len(chunk) > cut_at:
                            self.wfile.write(chunk[: cut_at - position])
                            self.wfile.flush()
                            self.close_connection = True
                            self.connection.shutdown(2)
                            return
                        self.wfile.write(chunk)
                        position += len(chunk)
                        sent += len(chunk)
                        if hub.rate:
                            ahead = sent / hub.rate - (time.monotonic() - began)
                            if ahead > 0:
                                time.sleep(ahead)  # pacing the transfer, not synchronising a test

            def _json(self, body) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _error(self, status: int, code: str, message: str, commit: str | None = None) -> None:
                data = json.dumps({"error": message}).encode()
                self.send_response(status)
                self.send_header("X-Error-Code", code)
                self.send_header("X-Error-Message", message)
                if commit:
                    self.send_header("X-Repo-Commit", commit)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

        return Handler


# --- tiny random-weight models of the default architectures -------------------------------------------------

# SmolVLM's own chat template (HuggingFaceTB/SmolVLM-256M-Instruct, chat_template.json).
SMOLVLM_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}"
    "{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}<end_of_utterance>\n{% endfor %}"
    "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)
# Qwen2.5-VL-Instruct's own chat template (Qwen/Qwen2.5-VL-3B-Instruct, chat_template.json).
QWEN_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}<|im_start|>system\n"
    "You are a helpful assistant.<|im_end|>\n{% endif %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n{% else %}"
    "{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: "
    "{% endif %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_smolvlm(folder: Path, padding_bytes: int = 0) -> None:
    """Idefics3 (SigLIP-style vision tower + Llama text model), as HuggingFaceTB/SmolVLM-256M-Instruct."""
    from transformers import (
        Idefics3Config,
        Idefics3ForConditionalGeneration,
        Idefics3ImageProcessor,
        Idefics3Processor,
        Idefics3VisionConfig,
        LlamaConfig,
        PreTrainedTokenizerFast,
    )

    from arena.offline import _bpe_tokenizer

    specials = ["<unk>", "<|im_start|>", "<|im_end|>", "<end_of_utterance>", "<image>", "<fake_token_around_image>",
                "<global-img>"] + [f"<row_{r}_col_{c}>" for r in range(1, 3) for c in range(1, 3)]
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=_bpe_tokenizer(specials), unk_token="<unk>", bos_token="<|im_start|>",
        eos_token="<end_of_utterance>", pad_token="<|im_end|>",
    )
    image_processor = Idefics3ImageProcessor(size={"longest_edge": 64}, max_image_size={"longest_edge": 32})
    processor = Idefics3Processor(image_processor=image_processor, tokenizer=tokenizer, image_seq_len=4,
                                  chat_template=SMOLVLM_TEMPLATE)
    config = Idefics3Config(
        vision_config=Idefics3VisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                           num_attention_heads=2, image_size=32, patch_size=8),
        text_config=LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                                num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1, head_dim=16,
                                max_position_embeddings=2048, bos_token_id=tokenizer.bos_token_id,
                                eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id),
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"), scale_factor=2,
    )
    _save(Idefics3ForConditionalGeneration, config, processor, folder)
    if padding_bytes:
        _pad(folder, padding_bytes)
    _decoys(folder)


def _pad(folder: Path, padding_bytes: int) -> None:
    """A larger model of the same weights: sharded as transformers shards, the second shard one extra tensor
    (loaded and left unused), and a consolidated.safetensors beside them as Mistral's repositories have."""
    import numpy as np
    from safetensors.numpy import save_file

    first, second = "model-00001-of-00002.safetensors", PADDING
    (folder / "model.safetensors").rename(folder / first)
    save_file({"padding": np.random.default_rng(0).integers(0, 255, padding_bytes, dtype=np.uint8)}, folder / second)
    names = _tensor_names(folder / first)
    index = {"metadata": {"total_size": sum((folder / f).stat().st_size for f in (first, second))},
             "weight_map": {name: first for name in names} | {"padding": second}}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index, indent=2))
    save_file({"decoy": np.zeros(50_000, dtype=np.float32)}, folder / "consolidated.safetensors")


def _tensor_names(path: Path) -> list[str]:
    with open(path, "rb") as handle:
        header = json.loads(handle.read(int.from_bytes(handle.read(8), "little")))
    return [name for name in header if name != "__metadata__"]


def build_qwen2_5_vl(folder: Path) -> None:
    """Qwen2.5-VL (window-attention vision tower + Qwen2 text model with M-RoPE), as Qwen/Qwen2.5-VL-3B-Instruct."""
    from transformers import (
        PreTrainedTokenizerFast,
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
    )

    from arena.offline import _bpe_tokenizer

    specials = ["<unk>", "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                "<|image_pad|>", "<|video_pad|>"]
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=_bpe_tokenizer(specials), unk_token="<unk>",
                                        eos_token="<|im_end|>", pad_token="<|endoftext|>")
    pixels = {"min_pixels": 28 * 28 * 4, "max_pixels": 28 * 28 * 16}
    processor = Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(patch_size=14, merge_size=2, temporal_patch_size=2, **pixels),
        video_processor=Qwen2VLVideoProcessor(**pixels), tokenizer=tokenizer, chat_template=QWEN_TEMPLATE,
    )
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in specials}
    config = Qwen2_5_VLConfig(
        vision_config={"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "patch_size": 14,
                       "spatial_merge_size": 2, "temporal_patch_size": 2, "window_size": 56,
                       "out_hidden_size": 32, "fullatt_block_indexes": [1]},
        text_config={"vocab_size": len(tokenizer), "hidden_size": 32, "intermediate_size": 64,
                     "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1,
                     "max_position_embeddings": 2048,
                     "rope_parameters": {"rope_type": "default", "mrope_section": [2, 3, 3], "rope_theta": 1e6},
                     "bos_token_id": ids["<|endoftext|>"], "eos_token_id": ids["<|im_end|>"],
                     "pad_token_id": ids["<|endoftext|>"]},
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
    )
    _save(Qwen2_5_VLForConditionalGeneration, config, processor, folder)
    _decoys(folder)


def build_sd_turbo(folder: Path) -> None:
    """A Stable Diffusion pipeline laid out as stabilityai/sd-turbo: fp32 component files, their .fp16 variants,
    and a single-file checkpoint at the top that a diffusers load never reads."""
    import torch
    from diffusers import StableDiffusionPipeline

    from arena.offline import build_stable_diffusion

    build_stable_diffusion(folder)
    pipe = StableDiffusionPipeline.from_pretrained(folder, dtype=torch.float16)
    pipe.save_pretrained(folder, variant="fp16")
    import numpy as np
    from safetensors.numpy import save_file

    save_file({"decoy": np.zeros(75_000, dtype=np.float32)}, folder / "sd_turbo.safetensors")


def _save(model_class, config, processor, folder: Path) -> None:
    import torch

    torch.manual_seed(0)
    model = model_class(config).eval()
    model.generation_config.do_sample = False
    model.save_pretrained(folder)
    processor.save_pretrained(folder)


def _decoys(folder: Path) -> None:
    """Files real repositories hold beside safetensors that a transformers load never reads."""
    (folder / "pytorch_model.bin").write_bytes(b"\0" * 200_000)
    (folder / "onnx").mkdir(exist_ok=True)
    (folder / "onnx" / "model.onnx").write_bytes(b"\0" * 200_000)
    (folder / "README.md").write_text("tiny random-weight model for Arena's tests\n")


PADDED_BYTES = 24 * 1024 * 1024  # a model large enough to Cancel or cut mid-file
BUILDERS = {"smolvlm": build_smolvlm, "qwen2.5-vl": build_qwen2_5_vl, "sd-turbo": build_sd_turbo,
            "smolvlm-padded": lambda folder: build_smolvlm(folder, padding_bytes=PADDED_BYTES)}
REPOS = {"smolvlm": "HuggingFaceTB/SmolVLM-tiny", "qwen2.5-vl": "Qwen/Qwen2.5-VL-tiny",
         "sd-turbo": "stabilityai/sd-turbo-tiny", "smolvlm-padded": "HuggingFaceTB/SmolVLM-padded"}
PADDING = "model-00002-of-00002.safetensors"
GATED_TOKEN = "hf_T3stG4tedAcc3ssT0ken"


def build_all(root: Path) -> dict[str, Path]:
    """The tiny repositories under ``root`` (built once; a marker file says a build finished)."""
    folders = {}
    for name, build in BUILDERS.items():
        folder, marker = root / name, root / f"{name}.built"
        if not marker.exists():
            folder.mkdir(parents=True, exist_ok=True)
            build(folder)
            marker.write_text("ok")
        folders[name] = folder
    return folders


def standard_hub(root: Path) -> LoopbackHub:
    """A hub with the three tiny models, a gated copy of SmolVLM and a repository too big for any machine."""
    folders = build_all(root)
    hub = LoopbackHub()
    for name, folder in folders.items():
        hub.add(REPOS[name], folder)
    hub.add("meta-llama/gated-tiny", folders["smolvlm"], gated_token=GATED_TOKEN)
    hub.add("huge/vlm-9000b", None, fake={"config.json": 2_000, "model.safetensors": 18 * 10**15},
            parameters={"BF16": 9 * 10**15})
    return hub


def hub_environment(hub: LoopbackHub, cache: Path) -> dict[str, str]:
    """What a process needs to pull from this hub into ``cache`` (HF_HUB_OFFLINE unset)."""
    return {"HF_ENDPOINT": hub.url, "HF_HUB_CACHE": str(cache), "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
