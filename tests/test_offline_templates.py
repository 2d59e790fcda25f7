"""The tiny offline models receive what the real checkpoints would: their chat templates, special tokens and
processor settings, checked against the strings and numbers the real ones are documented to give.

Expected prompts follow the published formats: Mistral's ``<s>[INST]…[/INST]answer</s>`` with ``[IMG]`` where the
image stands, and Meta's Llama 3.2 Vision format (no system turn when an image is present; otherwise the knowledge
cut-off and today's date). Image token counts and ids come from transformers' own tests of the real processors.
"""

from __future__ import annotations

import time

import pytest
from PIL import Image

from arena import offline
from arena.backends.transformers_vlm import chat_messages
from arena.images import InputImage
from arena.request import Request, Turn
from tests.conftest import OFFLINE_ENTRIES

SCENE = InputImage(Image.new("RGB", (800, 560), (90, 140, 200)))
# The values of the real checkpoints' preprocessor_config.json.
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


@pytest.fixture(scope="module")
def processors(offline_models):
    from transformers import AutoProcessor

    return {name: AutoProcessor.from_pretrained(offline.ensure_built(name, offline_models))
            for name in ("pixtral", "llama-vision")}


def rendered(processor, request: Request, **options) -> str:
    return processor.apply_chat_template(chat_messages(request), add_generation_prompt=True, tokenize=False,
                                         **options)


def encoded(processor, request: Request):
    return processor.apply_chat_template(chat_messages(request), add_generation_prompt=True, tokenize=True,
                                         return_dict=True, return_tensors="pt")


# --- Pixtral (mistral-community/pixtral-12b) ------------------------------------------------------------------

def test_pixtral_prompt_is_mistrals_format_with_the_image_where_it_stands(processors):
    pixtral = processors["pixtral"]
    assert rendered(pixtral, Request("Describe the picture.", SCENE)) == "<s>[INST][IMG]Describe the picture.[/INST]"
    follow_up = Request("And the roof?", history=(Turn("user", "Describe the picture.", SCENE),
                                                  Turn("assistant", "A house by a tree.")))
    assert rendered(pixtral, follow_up) == (
        "<s>[INST][IMG]Describe the picture.[/INST]A house by a tree.</s>[INST]And the roof?[/INST]"
    )


def test_pixtral_reads_a_text_block_by_text_or_by_content(processors):
    """The checkpoint's first template read only "content", and dropped the words of {"type": "text", "text": …}."""
    for block in ({"type": "text", "text": "hello"}, {"type": "text", "content": "hello"}):
        prompt = processors["pixtral"].apply_chat_template([{"role": "user", "content": [block]}], tokenize=False)
        assert prompt == "<s>[INST]hello[/INST]"


def test_pixtral_image_becomes_the_real_number_of_image_tokens(processors):
    pixtral = processors["pixtral"]
    ids = pixtral.tokenizer.convert_tokens_to_ids(["<s>", "[INST]", "[/INST]", "[IMG]", "[IMG_BREAK]", "[IMG_END]"])
    assert ids == [1, 3, 4, 10, 12, 13]  # Tekken's control-token ids
    # transformers' test of the real processor: a 316×500 picture is 640 image tokens (20 × 32 patches of 16 px).
    tall = InputImage(Image.new("RGB", (316, 500), (10, 20, 30)))
    tokens = encoded(pixtral, Request("What is shown in this image?", tall))["input_ids"][0].tolist()
    assert tokens.count(10) == 640 and tokens.count(12) == 31 and tokens.count(13) == 1
    assert tokens[:3] == [1, 3, 10] and tokens.count(1) == 1  # one <s>, then the image right after [INST]
    assert tokens[-1] == 4


def test_pixtral_processor_settings_are_the_checkpoints(processors):
    pixtral = processors["pixtral"]
    images = pixtral.image_processor
    assert dict(images.size) == {"longest_edge": 1024}
    assert dict(images.patch_size) == {"height": 16, "width": 16}
    assert list(images.image_mean) == CLIP_MEAN and list(images.image_std) == CLIP_STD
    assert int(images.resample) == 3  # bicubic
    assert (pixtral.patch_size, pixtral.spatial_merge_size) == (16, 1)
    assert (pixtral.image_token, pixtral.image_break_token, pixtral.image_end_token) == (
        "[IMG]", "[IMG_BREAK]", "[IMG_END]")
    big = InputImage(Image.new("RGB", (2048, 1024)))
    pixels = encoded(pixtral, Request("x", big))["pixel_values"]
    assert tuple(pixels.shape[-2:]) == (512, 1024)  # longest edge brought to 1024


# --- Llama 3.2 Vision (meta-llama/Llama-3.2-11B-Vision-Instruct) --------------------------------------------

def test_llama_vision_prompt_with_an_image_has_no_system_turn(processors):
    llama = processors["llama-vision"]
    assert rendered(llama, Request("Describe the picture.", SCENE)) == (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n<|image|>Describe the picture.<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )
    follow_up = Request("And the roof?", history=(Turn("user", "Describe the picture.", SCENE),
                                                  Turn("assistant", "A house by a tree.")))
    assert rendered(llama, follow_up) == (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n<|image|>Describe the picture.<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nA house by a tree.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nAnd the roof?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )


def test_llama_vision_prompt_without_an_image_carries_the_dates(processors):
    llama = processors["llama-vision"]
    assert rendered(llama, Request("hello"), date_string="26 Jul 2024") == (
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
        "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nhello<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )
    before = time.strftime("%d %b %Y")
    prompt = rendered(llama, Request("hello"))  # as the backend calls it: today's date
    assert f"Today Date: {before}\n" in prompt or f"Today Date: {time.strftime('%d %b %Y')}\n" in prompt


def test_llama_vision_system_text_is_placed_as_the_real_template_places_it(processors):
    messages = [{"role": "system", "content": "  Answer in French.  "},
                {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What is this?"}]}]
    prompt = processors["llama-vision"].apply_chat_template(messages, add_generation_prompt=True, tokenize=False,
                                                            date_string="26 Jul 2024")
    assert prompt == (
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
        "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nAnswer in French.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\n<|image|>What is this?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )


def test_llama_vision_processor_settings_are_the_checkpoints(processors):
    llama = processors["llama-vision"]
    images = llama.image_processor
    assert dict(images.size) == {"height": 560, "width": 560} and images.max_image_tiles == 4
    assert list(images.image_mean) == CLIP_MEAN and list(images.image_std) == CLIP_STD
    assert int(images.resample) == 2  # bilinear
    inputs = encoded(llama, Request("Describe the picture.", SCENE))
    assert tuple(inputs["pixel_values"].shape) == (1, 1, 4, 3, 560, 560)  # up to four 560-px tiles
    tokens = inputs["input_ids"][0].tolist()
    bos, image = llama.tokenizer.convert_tokens_to_ids(["<|begin_of_text|>", "<|image|>"])
    assert tokens.count(bos) == 1 and tokens[0] == bos and tokens.count(image) == 1


def test_llama_vision_stops_where_the_instruct_model_stops(offline_models):
    from transformers import AutoTokenizer, GenerationConfig

    folder = offline.ensure_built("llama-vision", offline_models)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    stops = GenerationConfig.from_pretrained(folder).eos_token_id
    assert set(stops) == set(tokenizer.convert_tokens_to_ids(["<|end_of_text|>", "<|eom_id|>", "<|eot_id|>"]))


# --- Stable Diffusion (stabilityai/sd-turbo) ----------------------------------------------------------------

def test_stable_diffusion_steps_as_sd_turbo_does(offline_models):
    from diffusers import AutoPipelineForText2Image

    pipe = AutoPipelineForText2Image.from_pretrained(offline.ensure_built("stable-diffusion", offline_models))
    scheduler = pipe.scheduler
    assert type(scheduler).__name__ == "EulerDiscreteScheduler"
    settings = {k: scheduler.config[k] for k in ("beta_start", "beta_end", "beta_schedule", "prediction_type",
                                                 "timestep_spacing", "steps_offset", "num_train_timesteps")}
    assert settings == {"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
                        "prediction_type": "epsilon", "timestep_spacing": "trailing", "steps_offset": 1,
                        "num_train_timesteps": 1000}
    scheduler.set_timesteps(1)
    assert scheduler.timesteps.tolist() == [999]  # one step from pure noise, as SD-Turbo is used
    scheduler.set_timesteps(4)
    assert scheduler.timesteps.tolist() == [999, 749, 499, 249]
    assert pipe.unet.config.sample_size * pipe.vae_scale_factor == 512  # its default picture size
    assert pipe.tokenizer.model_max_length == 77


# --- through the backend --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("offline-pixtral", "<s>[INST]Say hello.[/INST]"),
    ("offline-llama-vision", None),  # today's date: counted from the processor below
])
def test_the_backend_sends_the_rendered_prompt(engine_factory, processors, name, expected):
    engine = engine_factory(OFFLINE_ENTRIES)
    [pane] = engine.start(Request("Say hello."), [name]).wait()
    assert pane.status == "done", pane.error
    processor = processors[name.removeprefix("offline-")]
    prompt = expected or rendered(processor, Request("Say hello."))
    assert pane.used["prompt_tokens"] == len(processor.tokenizer(prompt, add_special_tokens=False)["input_ids"])
