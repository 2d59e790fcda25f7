"""Weights arriving from a (loopback) Hugging Face Hub: availability, downloads with progress, resume, errors, and a
comparison through the normal backends on what was pulled."""

from __future__ import annotations

import pytest
from PIL import Image

from arena import downloads, hub
from arena.catalog import ModelEntry, check_availability
from arena.images import InputImage
from arena.request import GenerationParams, Request
from tests.conftest import ROOT
from tests.hub import GATED_TOKEN, PADDED_BYTES, PADDING, REPOS, build_all, hub_environment, standard_hub

SCENE = InputImage(Image.open(ROOT / "assets" / "scene.png").convert("RGB"))
ENTRIES = [
    {"name": "smolvlm-tiny", "kind": "transformers", "model": REPOS["smolvlm"],
     "params": {"max_tokens": 8}, "extra": {"min_new_tokens": 8}},
    {"name": "qwen2.5-vl-tiny", "kind": "transformers", "model": REPOS["qwen2.5-vl"],
     "params": {"max_tokens": 8}, "extra": {"min_new_tokens": 8}},
    {"name": "sd-tiny", "kind": "diffusers", "model": REPOS["sd-turbo"],
     "params": {"steps": 1, "guidance": 0.0, "width": 64, "height": 64}},
]


def entry(name: str, **fields) -> ModelEntry:
    spec = next((e for e in ENTRIES if e["name"] == name),
                {"name": name.replace("/", "-"), "kind": "transformers", "model": name})
    return ModelEntry.model_validate(spec | fields)


@pytest.fixture(scope="session")
def hub_repos(tmp_path_factory):
    return build_all(tmp_path_factory.getbasetemp() / "hub-repos")


@pytest.fixture
def online(hub_repos, tmp_path, monkeypatch):
    """The loopback hub, HF_ENDPOINT pointed at it, HF_HUB_OFFLINE unset, and an empty HF cache of this test's."""
    from huggingface_hub import constants

    with standard_hub(hub_repos["smolvlm"].parent) as server:
        cache = tmp_path / "hf-cache"
        for name, value in hub_environment(server, cache).items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.delenv("HF_TOKEN", raising=False)
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
        hub.forget()
        yield server
    hub.forget()


def pull(model_entry: ModelEntry) -> tuple[downloads.Download, list[tuple[str, int]]]:
    download = downloads.Download(model_entry)
    events: list[tuple[str, int]] = []
    download.listeners.append(lambda d: events.append((d.state, d.done_bytes)))
    downloads.pull(download)
    return download, events


def test_pull_reports_progress_then_the_models_run_through_the_normal_backends(online, engine_factory):
    for spec in ENTRIES:
        model_entry = entry(spec["name"])
        before = hub.status(model_entry)
        assert before.state == "not-downloaded" and before.download_bytes > 0, before.sentence
        assert not check_availability(model_entry).ok
        download, events = pull(model_entry)
        assert download.state == "done", download.error
        assert download.done_bytes == download.total_bytes == before.download_bytes
        done = [count for state, count in events if state == "downloading"]
        assert done == sorted(done) and len(set(done)) > 2  # bytes counted as they arrive
        assert events[-1] == ("done", download.total_bytes)
        after = check_availability(model_entry)
        assert after.ok and after.reason.startswith("downloaded,"), after.reason

    fetched = [path.split("/resolve/", 1)[1] for path, _ in online.downloads()]
    # Only what the loaders read: no .bin beside safetensors, no ONNX, no single-file checkpoint, no fp16 on a CPU.
    assert not [p for p in fetched if p.endswith((".bin", ".onnx", "sd_turbo.safetensors", ".fp16.safetensors"))]
    assert any(p.endswith("unet/diffusion_pytorch_model.safetensors") for p in fetched)

    engine = engine_factory(ENTRIES)
    vision, qwen = engine.start(Request("a charming spider at work", SCENE), ["smolvlm-tiny", "qwen2.5-vl-tiny"]).wait()
    for pane in (vision, qwen):
        assert pane.status == "done", pane.error
        assert pane.tokens == 8 and pane.text.strip()
    [picture] = engine.start(Request("a charming spider at work", params=GenerationParams(seed=1)), ["sd-tiny"]).wait()
    assert picture.status == "done", picture.error
    assert picture.images[-1].size == (64, 64)
    loaded = {type(engine.local.peek(k)[0] if "transformers" in k else engine.local.peek(k)).__name__
              for k in engine.local.loaded()}
    assert {"Idefics3ForConditionalGeneration", "Qwen2_5_VLForConditionalGeneration",
            "StableDiffusionPipeline"} <= loaded
    assert all("/snapshots/" in k for k in engine.local.loaded())  # read from the HF cache, no second download


def test_pulling_twice_downloads_nothing(online):
    first, _ = pull(entry("smolvlm-tiny"))
    assert first.state == "done" and first.total_bytes > 0
    requests = len(online.requests)
    again, _ = pull(entry("smolvlm-tiny"))
    assert again.state == "done" and again.total_bytes == 0
    assert len(online.requests) == requests  # the cache alone says it is all there


def test_a_cut_connection_resumes_mid_file(online):
    online.cut_once(PADDING, at=15_000_000)
    download, _ = pull(entry("padded", model=REPOS["smolvlm-padded"]))
    assert download.state == "done", download.error
    ranges = [headers.get("range") for p, headers in online.downloads() if p.endswith(PADDING)]
    assert ranges == [None, "bytes=15000000-"]  # asked again from the byte where the connection dropped
    fetched = [p.rsplit("/", 1)[1] for p, _ in online.downloads()]
    assert "model.safetensors.index.json" in fetched and "consolidated.safetensors" not in fetched
    assert download.done_bytes == download.total_bytes


def test_cancel_keeps_the_partial_file_and_the_next_pull_goes_on_from_it(online):
    padded = entry("padded", model=REPOS["smolvlm-padded"])
    first = downloads.Download(padded)
    first.listeners.append(lambda d: d.done_bytes >= 10**7 and d.cancel())  # Cancel pressed once 10 MB are in
    downloads.pull(first)
    assert first.state == "cancelled"
    [partial] = (downloads._storage(padded.model) / "blobs").glob("*.incomplete")
    kept = partial.stat().st_size
    assert 0 < kept < PADDED_BYTES
    status = hub.status(padded)
    left = first.total_bytes - first.done_bytes  # the small files came whole before it; the large one in part
    assert status.state == "not-downloaded" and status.download_bytes == left
    assert status.sentence == (f"partly downloaded ({hub.human_bytes(kept)} kept): "
                               f"{hub.human_bytes(left)} more to download")
    line = first.progress_line()
    assert line.startswith("cancelled at ") and line.endswith("Download again resumes")
    assert not check_availability(padded).ok  # never available half-downloaded
    snapshots = downloads._storage(padded.model) / "snapshots"
    assert not list(snapshots.rglob(PADDING))  # nothing half-written where from_pretrained reads

    second, _ = pull(padded)
    assert second.state == "done", second.error
    ranges = [headers.get("range") for p, headers in online.downloads() if p.endswith(PADDING)]
    assert ranges == [None, f"bytes={kept}-"]  # went on from the bytes the cancelled download kept
    assert second.done_bytes == second.total_bytes
    assert check_availability(padded).ok
    assert not list((downloads._storage(padded.model) / "blobs").glob("*.incomplete"))


def test_a_lost_connection_is_one_sentence_and_download_again_resumes(online, monkeypatch):
    padded = entry("padded", model=REPOS["smolvlm-padded"])
    monkeypatch.setattr(downloads, "RETRY_WAIT_S", 0.05)
    online.cut_then_down(PADDING, at=15_000_000)  # the network goes away at 15 MB, and stays away
    first, _ = pull(padded)
    assert first.state == "failed"
    assert first.error == "the connection to the Hub was lost; Download again resumes where it stopped"
    online.heal()
    second, _ = pull(padded)
    assert second.state == "done", second.error
    assert [h.get("range") for p, h in online.downloads() if p.endswith(PADDING)][-1] == "bytes=15000000-"


def test_gated_and_missing_repositories_say_what_to_do(online, monkeypatch):
    gated = hub.status(entry("meta-llama/gated-tiny"))
    assert gated.state == "gated"
    assert gated.sentence == f"gated: accept the licence on {online.url}/meta-llama/gated-tiny, then set HF_TOKEN"
    download, _ = pull(entry("meta-llama/gated-tiny"))
    assert download.state == "failed" and download.error == gated.sentence

    monkeypatch.setenv("HF_TOKEN", GATED_TOKEN)
    hub.forget()
    allowed, _ = pull(entry("meta-llama/gated-tiny"))
    assert allowed.state == "done", allowed.error
    assert GATED_TOKEN not in allowed.error

    missing = hub.status(entry("nobody/no-such-model"))
    assert missing.state == "missing"
    assert missing.sentence == ("no repository nobody/no-such-model on the Hub "
                                "(check the name; a private one needs HF_TOKEN)")


def test_a_model_too_big_for_the_machine_is_refused_before_any_download(online):
    huge = entry("huge/vlm-9000b")
    status = hub.status(huge)
    assert status.state == "wont-fit"
    assert status.sentence.startswith("will not fit: the weights need about 43,200 TB, this machine has ")
    assert status.sentence.endswith(" free RAM")
    download, _ = pull(huge)
    assert download.state == "failed" and download.error == status.sentence
    assert not online.downloads("huge/vlm-9000b")


def test_loading_a_downloaded_model_that_no_longer_fits_is_refused_with_the_estimate(online, engine_factory,
                                                                                     monkeypatch):
    pull(entry("smolvlm-tiny"))
    engine = engine_factory(ENTRIES[:1])
    assert hub.status(entry("smolvlm-tiny")).state == "downloaded"  # checked while memory was free (kept a minute)
    monkeypatch.setattr(hub, "free_memory", lambda device: (1000, "free RAM"))  # then other programs took it
    [pane] = engine.start(Request("hi"), ["smolvlm-tiny"]).wait()
    assert pane.status == "error"
    assert pane.error.startswith("will not fit: the weights need about ") and pane.error.endswith("1 kB free RAM")
    assert engine.local.loaded() == []


def test_offline_and_unreachable_hub_say_so(online, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub.status(entry("smolvlm-tiny"), fresh=True).sentence == hub.OFFLINE_SENTENCE
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    unreachable = hub.status(entry("smolvlm-tiny"), fresh=True)
    assert unreachable.state == "offline" and "cannot be reached" in unreachable.sentence


def test_two_users_pressing_download_share_one_download(online):
    online.rate = 5_000_000  # the 5 MB model takes a second: the other presses come while it runs
    manager = downloads.DownloadManager()
    first = manager.start(entry("sd-tiny"))
    second = manager.start(entry("sd-tiny"))
    same_repo = manager.start(entry("another-name", kind="diffusers", model=REPOS["sd-turbo"]))
    assert first is second is same_repo
    assert first.wait(60) and first.state == "done", first.error
    unet = [p for p, _ in online.downloads() if p.endswith("unet/diffusion_pytorch_model.safetensors")]
    assert len(unet) == 1


def test_a_16_bit_diffusers_entry_fetches_only_the_fp16_files_and_loads_them(online, engine_factory):
    """What a GPU gets (bfloat16/float16 there): the fp16 variant, not the fp32 files beside it."""
    spec = ENTRIES[2] | {"name": "sd-half", "dtype": "float16", "device": "cpu"}
    download, _ = pull(ModelEntry.model_validate(spec))
    assert download.state == "done", download.error
    fetched = [p.split("/resolve/", 1)[1].split("/", 1)[1] for p, _ in online.downloads()]
    weights = sorted(p for p in fetched if p.endswith(".safetensors"))
    assert weights == ["text_encoder/model.fp16.safetensors", "unet/diffusion_pytorch_model.fp16.safetensors",
                       "vae/diffusion_pytorch_model.fp16.safetensors"]
    engine = engine_factory([spec])
    [picture] = engine.start(Request("a charming spider at work", params=GenerationParams(seed=1)), ["sd-half"]).wait()
    assert picture.status == "done", picture.error
    [key] = engine.local.loaded()
    assert str(engine.local.peek(key).unet.dtype) == "torch.float16"


def test_out_of_memory_while_generating_ends_that_pane_and_lets_the_weights_go(online, engine_factory):
    import torch

    pull(entry("smolvlm-tiny"))
    engine = engine_factory(ENTRIES[:1])
    [first] = engine.start(Request("hi"), ["smolvlm-tiny"]).wait()
    assert first.status == "done", first.error
    [key] = engine.local.loaded()
    model, _ = engine.local.peek(key)

    def out_of_memory(**kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    model.generate = out_of_memory
    [pane] = engine.start(Request("hi"), ["smolvlm-tiny"]).wait()
    assert pane.status == "error" and pane.error == "out of memory while running the model"
    assert engine.local.loaded() == []
    [again] = engine.start(Request("hi"), ["smolvlm-tiny"]).wait()  # loaded afresh next time
    assert again.status == "done", again.error


def test_no_room_on_the_disk_is_said_before_anything_is_fetched(online, monkeypatch):
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 50_000_000, 50_000_000))
    download, _ = pull(entry("sd-tiny"))
    assert download.state == "failed"
    assert download.error == (f"not enough disk space for {REPOS['sd-turbo']}: the download needs 5 MB, "
                              f"{hub.cache_dir()} has 50 MB free")
    assert not online.downloads()


def test_a_disk_filling_up_mid_download_is_one_sentence():
    error = OSError(28, "No space left on device")
    assert hub.describe_hub_error(error, "org/model") == \
        f"the disk is full: {hub.cache_dir()} has no room left for org/model"


def test_the_pulled_stand_ins_render_prompts_as_the_real_checkpoints_do(online):
    from transformers import AutoProcessor

    from arena.backends.transformers_vlm import chat_messages

    request = Request("Describe this picture.", SCENE)
    expected = {
        "smolvlm-tiny": "<|im_start|>User:<image>Describe this picture.<end_of_utterance>\nAssistant:",
        "qwen2.5-vl-tiny": "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
                           "<|vision_start|><|image_pad|><|vision_end|>Describe this picture.<|im_end|>\n"
                           "<|im_start|>assistant\n",
    }
    for name, prompt in expected.items():
        pull(entry(name))
        processor = AutoProcessor.from_pretrained(hub.local_snapshot(entry(name)))
        assert processor.apply_chat_template(chat_messages(request), add_generation_prompt=True,
                                             tokenize=False) == prompt


def test_a_servers_hash_becomes_a_file_name_only_when_it_is_a_hash(online):
    assert hub.blob_name("a" * 64) == "a" * 64 and hub.blob_name("b" * 40) == "b" * 40
    for hostile in ("../../.bashrc", "a" * 63 + "/", "A" * 64, "", None, "a" * 64 + "\n"):
        assert hub.blob_name(hostile) is None
    repo = online.repos[REPOS["smolvlm"]]
    large = next(path for path, info in repo.files.items() if info["size"] >= 64 * 1024)
    repo.files[large]["sha256"] = "../../outside"
    plan = hub.remote_plan(entry("smolvlm-tiny"), "cpu")
    hashes = {f.path: f.sha256 for f in plan.files}
    assert large in hashes and hashes[large] is None  # no partial file is looked for or written under that name
    assert all(value is None or len(value) == 64 for value in hashes.values())
