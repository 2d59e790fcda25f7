"""transformers and diffusers backends on tiny random-weight models, through their real classes and from_pretrained."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from PIL import Image

from arena.backends.local import LocalModels
from arena.images import InputImage
from arena.request import GenerationParams, Request
from tests.conftest import OFFLINE_ENTRIES, ROOT
from tests.helpers import wait_until

SCENE = InputImage(Image.open(ROOT / "assets" / "scene.png").convert("RGB"))


@pytest.fixture
def offline_engine(engine_factory):
    return engine_factory(OFFLINE_ENTRIES)


@pytest.mark.parametrize("name, model_class, processor_class", [
    ("offline-pixtral", "LlavaForConditionalGeneration", "PixtralProcessor"),
    ("offline-llama-vision", "MllamaForConditionalGeneration", "MllamaProcessor"),
])
def test_vlm_streams_tokens_with_and_without_an_image(offline_engine, name, model_class, processor_class):
    changes = 0
    comparison = offline_engine.start(Request("a charming spider at work", SCENE), [name])
    for _ in comparison.updates():
        changes += 1
    [with_image] = comparison.snapshots()
    assert with_image.status == "done", with_image.error
    assert with_image.tokens == 12 and with_image.text.strip()
    assert changes >= 5  # token by token, not all at the end
    [key] = offline_engine.local.loaded()
    model, processor = offline_engine.local.peek(key)
    assert (type(model).__name__, type(processor).__name__) == (model_class, processor_class)

    [text_only] = offline_engine.start(Request("a charming spider at work"), [name]).wait()
    assert text_only.status == "done", text_only.error
    if name == "offline-pixtral":  # the picture became image tokens in the prompt
        assert with_image.used["prompt_tokens"] > text_only.used["prompt_tokens"]
    else:  # one <|image|> token (the picture goes in by cross-attention), and no dated system turn beside an image
        assert with_image.used["prompt_tokens"] < text_only.used["prompt_tokens"]
    assert offline_engine.local.loads == 1  # kept loaded: the second request read no weights


def test_greedy_generation_is_repeatable(offline_engine):
    first, second = (offline_engine.start(Request("hello"), ["offline-pixtral"]).wait()[0] for _ in range(2))
    assert first.text == second.text and first.text


def test_diffusers_reports_steps_and_a_seed_reproduces_the_picture(offline_engine):
    request = Request("a charming spider at work", params=GenerationParams(seed=42))
    first = offline_engine.start(request, ["offline-sd"]).wait()[0]
    again = offline_engine.start(request, ["offline-sd"]).wait()[0]
    other = offline_engine.start(Request("a charming spider at work", params=GenerationParams(seed=43)),
                                 ["offline-sd"]).wait()[0]
    assert first.status == "done", first.error
    assert (first.steps_done, first.steps_total) == (3, 3) and first.steps_per_s
    assert first.used["seed"] == 42 and first.images[0].size == (64, 64)
    assert np.array_equal(np.asarray(first.images[0]), np.asarray(again.images[0]))
    assert not np.array_equal(np.asarray(first.images[0]), np.asarray(other.images[0]))
    assert offline_engine.local.loads == 1
    assert first.notices == []  # a short prompt is read whole


def test_a_prompt_longer_than_the_text_encoder_reads_says_so_in_its_pane(offline_engine):
    long = " ".join(["a charming spider at work on a web between two branches in the morning light"] * 8)
    [pane] = offline_engine.start(Request(long, params=GenerationParams(seed=1)), ["offline-sd"]).wait()
    assert pane.status == "done", pane.error
    [said] = pane.notices
    assert said.startswith("The prompt is ") and said.endswith("tokens; this model reads the first 77.")


def test_stop_interrupts_local_diffusion_within_a_second(offline_engine):
    comparison = offline_engine.start(
        Request("a spider", params=GenerationParams(steps=200, width=128, height=128)), ["offline-sd"]
    )
    wait_until(lambda: comparison.panes[0].snapshot().steps_done >= 2, timeout=60, what="two diffusion steps")
    stopped = time.monotonic()
    comparison.cancel()
    [pane] = comparison.wait()
    assert comparison.join_backends(5.0)  # the generation itself stopped, not just the pane
    assert time.monotonic() - stopped < 1.5
    assert pane.status == "cancelled" and pane.steps_done < 200 and len(pane.images) == 1  # the partial picture is kept
    # The device is free again.
    [after] = offline_engine.start(Request("a spider"), ["offline-sd"]).wait()
    assert after.status == "done"


def test_stop_interrupts_local_text_generation(offline_engine, engine_factory):
    engine = engine_factory([{**OFFLINE_ENTRIES[0], "params": {"max_tokens": 4000},
                              "extra": {"min_new_tokens": 4000}}])
    comparison = engine.start(Request("go on"), ["offline-pixtral"])
    wait_until(lambda: (comparison.panes[0].snapshot().tokens or 0) >= 3, timeout=60, what="three tokens")
    comparison.cancel()
    [pane] = comparison.wait()
    assert comparison.join_backends(5.0)
    assert pane.status == "cancelled" and pane.tokens < 4000


def test_memory_cap_evicts_the_least_recently_used_model(engine_factory):
    engine = engine_factory(OFFLINE_ENTRIES, local_memory_bytes=1)
    engine.start(Request("a"), ["offline-pixtral"]).wait()
    engine.start(Request("a"), ["offline-llama-vision"]).wait()
    [loaded] = engine.local.loaded()
    assert "llama-vision" in loaded
    engine.start(Request("a"), ["offline-pixtral"]).wait()
    assert engine.local.loads == 3


def test_one_generation_at_a_time_per_device(tmp_path):
    models = LocalModels(None, tmp_path)
    inside, most = [0], [0]
    lock = threading.Lock()

    class Out:
        cancelled = threading.Event()

        def activity(self, message):
            pass

    def work():
        with models.device_turn("cuda:0", Out()):
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.02)  # the work done holding the device, while the others queue
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 1


def test_heavy_libraries_load_only_when_a_local_model_is_used(tmp_path):
    script = """
import sys
from arena.web import create, parse_args
settings, engine, demo = create(parse_args(["--catalog", sys.argv[1]]))
heavy = [m for m in ("torch", "transformers", "diffusers") if m in sys.modules]
print("heavy:", heavy)
"""
    catalog = tmp_path / "api.yaml"
    catalog.write_text("models:\n  - {name: gpt, kind: openai-chat, model: gpt-4o}\n"
                       "  - {name: local, kind: transformers, model: offline:pixtral}\n")
    result = subprocess.run([sys.executable, "-c", script, str(catalog)], capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "heavy: []" in result.stdout
