"""By hand, on a machine with a CUDA GPU: ``python tests/gpu_check.py``.

Runs the three offline models through the engine on the GPU and checks what CI (no GPU) cannot: the local
backends pick CUDA and bfloat16 by themselves, a second request reuses the loaded weights, and unloading gives
the GPU memory back. Then the loopback hub's tiny SmolVLM (Idefics3) and Qwen2.5-VL stand-ins, built into folders
laid out as a pulled snapshot and loaded by the same ``from_pretrained`` call, answer on CUDA in bfloat16.
Prints one JSON summary; exits 1 if a check failed. Without a CUDA GPU it says so and exits 0, checking nothing.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from arena.catalog import Catalog, ModelEntry  # noqa: E402
from arena.conversation import Conversation  # noqa: E402
from arena.engine import Engine  # noqa: E402
from arena.images import load_image  # noqa: E402
from arena.request import GenerationParams, Request  # noqa: E402
from arena.settings import Settings  # noqa: E402

ENTRIES = [
    {"name": "offline-pixtral", "kind": "transformers", "model": "offline:pixtral",
     "params": {"max_tokens": 16}, "extra": {"min_new_tokens": 16}},
    {"name": "offline-llama-vision", "kind": "transformers", "model": "offline:llama-vision",
     "params": {"max_tokens": 16}, "extra": {"min_new_tokens": 16}},
    {"name": "offline-sd", "kind": "diffusers", "model": "offline:stable-diffusion",
     "params": {"steps": 4, "width": 256, "height": 256}},
]
STAND_INS = ("smolvlm", "qwen2.5-vl")  # tests/hub.py BUILDERS names


def live_cuda_tensor_bytes() -> int:
    import gc

    gc.collect()
    total = 0
    for obj in gc.get_objects():
        try:
            if isinstance(obj, torch.Tensor) and obj.is_cuda:
                total += obj.numel() * obj.element_size()
        except Exception:  # objects that fail isinstance checks
            continue
    return total


def main() -> int:
    checks: dict[str, bool] = {}
    report: dict = {"cuda": torch.cuda.is_available()}
    if not torch.cuda.is_available():
        report["skipped"] = "no CUDA GPU here: nothing checked"
        print(json.dumps(report))
        return 0
    report["gpu"] = torch.cuda.get_device_name(0)
    scene = load_image(Path(__file__).resolve().parents[1] / "assets" / "scene.png")
    with tempfile.TemporaryDirectory() as data:
        engine = Engine(Catalog([ModelEntry.model_validate(e) for e in ENTRIES]), Settings(data_dir=data))
        baseline = torch.cuda.memory_allocated()
        names = [e["name"] for e in ENTRIES]
        first = engine.start(Request("a charming spider at work", scene, GenerationParams(seed=1)), names).wait()
        second = engine.start(Request("a charming spider at work", scene, GenerationParams(seed=1)), names).wait()
        report["panes"] = {p.model: {"status": p.status, "error": p.error, "used": p.used, "tokens": p.tokens,
                                     "steps": p.steps_done, "total_s": round(p.total_s or 0, 3)} for p in second}
        checks["all done"] = all(p.status == "done" for p in first + second)
        checks["on cuda"] = all(str(p.used.get("device", "")).startswith("cuda") for p in second)
        dtypes = {}
        for key in engine.local.loaded():
            value = engine.local.peek(key)
            module = value[0] if isinstance(value, tuple) else value.unet
            dtypes[key.rsplit("/", 1)[-1]] = str(next(module.parameters()).dtype)
        del value, module
        report["dtypes"] = dtypes
        checks["bfloat16"] = set(dtypes.values()) == {"torch.bfloat16"}
        checks["same seed, same picture"] = first[2].images[0].tobytes() == second[2].images[0].tobytes()
        # Two turns of a conversation, an image in each: the earlier image travels in the history.
        chat = Conversation(engine, names[:2], save=False)
        opening = chat.send("what is in this picture?", scene, GenerationParams(seed=1))
        opening.wait()
        chat.record(opening)
        follow = chat.send("and in this one?", scene).wait()
        report["conversation"] = {p.model: {"status": p.status, "error": p.error,
                                            "prompt_tokens": p.used.get("prompt_tokens")} for p in follow}
        checks["conversation on cuda"] = all(p.status == "done" and str(p.used.get("device")).startswith("cuda")
                                             for p in follow)
        checks["reused"] = engine.local.loads == 3
        loaded_bytes, loaded_tensors = torch.cuda.memory_allocated(), live_cuda_tensor_bytes()
        engine.close()
        released_bytes, released_tensors = torch.cuda.memory_allocated(), live_cuda_tensor_bytes()
        # memory_allocated also counts cuBLAS workspaces, which PyTorch keeps per thread; live tensors are the weights.
        report["memory"] = {"baseline": baseline, "loaded": loaded_bytes, "after_unload": released_bytes,
                            "live_cuda_tensors_loaded": loaded_tensors, "live_cuda_tensors_after": released_tensors}
        checks["weights on the GPU while loaded"] = loaded_tensors > 0
        checks["weights released after unload"] = released_tensors == 0
        check_stand_ins(scene, data, report, checks)
    report["checks"] = checks
    print(json.dumps(report, indent=1, default=str))
    return 0 if all(checks.values()) else 1


def check_stand_ins(scene, data: str, report: dict, checks: dict[str, bool]) -> None:
    """The tiny SmolVLM and Qwen2.5-VL the loopback hub serves, from their folders, on CUDA in bfloat16."""
    from tests.hub import BUILDERS

    with tempfile.TemporaryDirectory() as folders:
        entries = []
        for name in STAND_INS:
            folder = Path(folders) / name
            folder.mkdir()
            BUILDERS[name](folder)
            entries.append({"name": f"{name}-tiny", "kind": "transformers", "model": str(folder),
                            "params": {"max_tokens": 8}, "extra": {"min_new_tokens": 8}})
        engine = Engine(Catalog([ModelEntry.model_validate(e) for e in entries]), Settings(data_dir=data))
        try:
            names = [e["name"] for e in entries]
            panes = engine.start(Request("a charming spider at work", scene, GenerationParams(seed=1)), names).wait()
            dtypes = {key.rsplit("/", 1)[-1]: str(next(engine.local.peek(key)[0].parameters()).dtype)
                      for key in engine.local.loaded()}
            report["stand_ins"] = {p.model: {"status": p.status, "error": p.error, "used": p.used, "tokens": p.tokens}
                                   for p in panes}
            report["stand_in_dtypes"] = dtypes
            checks["stand-ins done"] = all(p.status == "done" and p.tokens == 8 for p in panes)
            checks["stand-ins on cuda"] = all(str(p.used.get("device", "")).startswith("cuda") for p in panes)
            checks["stand-ins bfloat16"] = len(dtypes) == len(STAND_INS) and set(dtypes.values()) == {"torch.bfloat16"}
        finally:
            engine.close()


if __name__ == "__main__":
    raise SystemExit(main())
