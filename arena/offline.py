"""Tiny random-weight models of the real architectures, built locally.

With no network and no keys the app still needs something to compare. These builders make a
Pixtral-style VLM (Llava + Pixtral vision tower), a Llama-3.2-Vision-style VLM (Mllama) and a
Stable Diffusion pipeline from configs, with tokenizers trained on a few sentences, and save them with
``save_pretrained``. The backends then load them through the same ``from_pretrained`` code that hub ids use.
Their words and pictures are noise; every code path is real. Only the networks and vocabularies are small: the
chat templates, special tokens, processor settings and scheduler are those of the checkpoints they stand for
(mistral-community/pixtral-12b, meta-llama/Llama-3.2-11B-Vision-Instruct, stabilityai/sd-turbo), so a prompt
reaches them as it would reach the real weights (tests/test_offline_templates.py).

A catalog entry selects one with ``model: offline:NAME``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Callable

# Bump when a builder changes so old folders are rebuilt instead of reused.
BUILD_VERSION = 4
_MARKER = "arena-offline.json"
# One build at a time in this process: the builders import transformers and diffusers, whose lazy
# attributes are not safe to resolve from several threads at once.
_BUILD_LOCK = threading.Lock()

_CORPUS = [
    "a charming spider at work weaving a web in the morning light",
    "the picture shows a small house with a red roof, a tree and the sun",
    "write the html for a website with a header, a menu and a footer",
    "the distorted word in the image reads hello",
    "describe the picture you would draw in a few sentences",
    "I am a random-weight offline model, so my words are noise.",
    "0123456789 , . ! ? : ; ( ) < > / = \" ' - _ # * + @ %",
]


def _bpe_tokenizer(special_tokens: list[str], vocab_size: int = 400):
    """A SentencePiece-style BPE trained on the small corpus above.

    Every token decodes to printable word pieces, so a random model's noise still reads as (nonsense) words.
    Characters outside the corpus become the unknown token.
    """
    import string

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token=special_tokens[0]))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special_tokens,
        initial_alphabet=list(string.ascii_letters + string.digits + string.punctuation),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS, trainer=trainer)
    return tok


# The chat templates, processor settings and special tokens below are those the real checkpoints ship, so that
# what a tiny model receives (the rendered prompt, the image tokens and their count, the pixel tensors) is what
# the real weights would receive. Only the sizes of the networks and of the vocabulary are small.

# mistral-community/pixtral-12b, chat_template.json: a text chunk's words are read from "content" or "text".
PIXTRAL_TEMPLATE = (
    '{%- if messages[0]["role"] == "system" %}{%- if messages[0]["content"] is not string %}'
    '{%- if messages[0]["content"]|length == 1 and messages[0]["content"][0]["type"] == "text" %}'
    '{%- set system_message = messages[0]["content"][0]["content"] %}{%- endif %}'
    '{%- else %}{%- set system_message = messages[0]["content"] %}{%- endif %}'
    '{%- set loop_messages = messages[1:] %}\n'
    '{%- else %}{%- set loop_messages = messages %}{%- endif %}{{- bos_token }}'
    '{%- for message in loop_messages %}'
    "{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{- raise_exception('After the optional system message, conversation roles must alternate "
    "user/assistant/user/assistant/...') }}{%- endif %}"
    '{%- if message["role"] == "user" %}{%- if loop.first and system_message is defined %}'
    '{{- "[INST]" + system_message + "\n\n" }}{%- else %}{{ "[INST]" }}{%- endif %}{%- endif %}'
    '{%- if message["content"] is not string %}{%- for chunk in message["content"] %}'
    '{%- if chunk["type"] == "text" %}{%- if "content" in chunk %}{{- chunk["content"] }}'
    '{%- elif "text" in chunk %}{{- chunk["text"] }}{%- endif %}'
    '{%- elif chunk["type"] == "image" %}{{- "[IMG]" }}'
    '{%- else %}{{- raise_exception("Unrecognized content type!") }}{%- endif %}{%- endfor %}'
    '{%- else %}{{- message["content"] }}{%- endif %}'
    '{%- if message["role"] == "user" %}{{- "[/INST]" }}{%- elif message["role"] == "assistant" %}{{- eos_token}}'
    '{%- else %}{{- raise_exception("Only user and assistant roles are supported, with the exception of an '
    'initial optional system message!") }}{%- endif %}{%- endfor %}'
)

# meta-llama/Llama-3.2-11B-Vision-Instruct, chat_template.json: a system turn with the knowledge cut-off and
# today's date unless the conversation holds an image (or the user wrote a system message); one <|image|> token
# where the image stands in the message.
LLAMA_VISION_TEMPLATE = r"""{{- bos_token }}
{%- if custom_tools is defined %}
    {%- set tools = custom_tools %}
{%- endif %}
{%- if not tools_in_user_message is defined %}
    {%- set tools_in_user_message = true %}
{%- endif %}
{%- if not date_string is defined %}
    {%- if strftime_now is defined %}
        {%- set date_string = strftime_now("%d %b %Y") %}
    {%- else %}
        {%- set date_string = "26 Jul 2024" %}
    {%- endif %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}

{#- This block extracts the system message, so we can slot it into the right place. #}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
    {%- set user_supplied_system_message = true %}
{%- else %}
    {%- set system_message = "" %}
    {%- set user_supplied_system_message = false %}
{%- endif %}

{#- Find out if there are any images #}
{% set image_ns = namespace(has_images=false) %}
{%- for message in messages %}
    {%- for content in message['content'] %}
        {%- if content['type'] == 'image' %}
            {%- set image_ns.has_images = true %}
        {%- endif %}
    {%- endfor %}
{%- endfor %}

{#- System message if there are no images, or if the user supplied one #}
{%- if user_supplied_system_message or not image_ns.has_images %}
    {{- "<|start_header_id|>system<|end_header_id|>\n\n" }}
    {%- if tools is not none %}
        {{- "Environment: ipython\n" }}
    {%- endif %}
    {{- "Cutting Knowledge Date: December 2023\n" }}
    {{- "Today Date: " + date_string + "\n\n" }}
    {%- if tools is not none and not tools_in_user_message %}
        {{- "You have access to the following functions. " }}
        {{- "To call a function, please respond with JSON for a function call." }}
        {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
        {{- "Do not use variables.\n\n" }}
        {%- for t in tools %}
            {{- t | tojson(indent=4) }}
            {{- "\n\n" }}
        {%- endfor %}
    {%- endif %}
    {{- system_message }}
    {{- "<|eot_id|>" }}
{%- endif %}

{#- Custom tools are passed in a user message with some extra guidance #}
{%- if tools_in_user_message and not tools is none %}
    {#- Extract the first user message so we can plug it in here #}
    {%- if messages | length != 0 %}
        {%- set first_user_message = messages[0]['content']|trim %}
        {%- set messages = messages[1:] %}
    {%- else %}
        {{- raise_exception("Cannot put tools in the first user message when there's no first user message!") }}
{%- endif %}
    {{- '<|start_header_id|>user<|end_header_id|>\n\n' -}}
    {{- "Given the following functions, please respond with a JSON for a function call " }}
    {{- "with its proper arguments that best answers the given prompt.\n\n" }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\n\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\n\n" }}
    {%- endfor %}
    {{- first_user_message + "<|eot_id|>"}}
{%- endif %}

{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' }}
        {%- if message['content'] is string %}
            {{- message['content'] }}
        {%- else %}
            {%- for content in message['content'] %}
                {%- if content['type'] == 'image' %}
                    {{- '<|image|>' }}
                {%- elif content['type'] == 'text' %}
                    {{- content['text'] }}
                {%- endif %}
            {%- endfor %}
        {%- endif %}
        {{- '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- if not message.tool_calls|length == 1 %}
            {{- raise_exception("This model only supports single tool-calls at once!") }}
        {%- endif %}
        {%- set tool_call = message.tool_calls[0].function %}
        {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
        {{- '{"name": "' + tool_call.name + '", ' }}
        {{- '"parameters": ' }}
        {{- tool_call.arguments | tojson }}
        {{- "}" }}
        {{- "<|eot_id|>" }}
    {%- elif message.role == "tool" or message.role == "ipython" %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\n\n" }}
        {%- if message.content is mapping or message.content is iterable %}
            {{- message.content | tojson }}
        {%- else %}
            {{- message.content }}
        {%- endif %}
        {{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
{%- endif %}
"""

# CLIP's normalisation, which both vision towers were trained with.
_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
_CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
# Tekken's control tokens, in their ids (0-13): [IMG] is 10, [IMG_BREAK] 12, [IMG_END] 13, as in the real vocabulary.
_PIXTRAL_SPECIALS = [
    "<unk>", "<s>", "</s>", "[INST]", "[/INST]", "[AVAILABLE_TOOLS]", "[/AVAILABLE_TOOLS]", "[TOOL_RESULTS]",
    "[/TOOL_RESULTS]", "[TOOL_CALLS]", "[IMG]", "<pad>", "[IMG_BREAK]", "[IMG_END]",
]
_LLAMA_SPECIALS = [
    "<unk>", "<|begin_of_text|>", "<|end_of_text|>", "<|finetune_right_pad_id|>", "<|image|>", "<|python_tag|>",
    "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>",
]


def _with_bos(tokenizer_object, bos: str):
    """Prepend the beginning-of-text token when text is encoded, as both real tokenizers do."""
    from tokenizers import processors

    tokenizer_object.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, tokenizer_object.token_to_id(bos))],
    )
    return tokenizer_object


def build_pixtral(folder: Path) -> None:
    """Llava with a Pixtral vision tower and a Mistral text model, as mistral-community/pixtral-12b."""
    from transformers import (
        LlavaConfig,
        LlavaForConditionalGeneration,
        MistralConfig,
        PixtralImageProcessor,
        PixtralProcessor,
        PixtralVisionConfig,
        PreTrainedTokenizerFast,
    )

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=_with_bos(_bpe_tokenizer(_PIXTRAL_SPECIALS), "<s>"),
        unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="<pad>",
    )
    image_processor = PixtralImageProcessor(
        size={"longest_edge": 1024}, patch_size={"height": 16, "width": 16}, resample=3,
        image_mean=_CLIP_MEAN, image_std=_CLIP_STD, do_convert_rgb=True,
    )
    processor = PixtralProcessor(
        image_processor=image_processor, tokenizer=tokenizer, patch_size=16, spatial_merge_size=1,
        image_token="[IMG]", image_break_token="[IMG_BREAK]", image_end_token="[IMG_END]",
        chat_template=PIXTRAL_TEMPLATE,
    )
    config = LlavaConfig(
        vision_config=PixtralVisionConfig(
            hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
            head_dim=16, image_size=1024, patch_size=16, rope_theta=10000.0,
        ),
        text_config=MistralConfig(
            vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
            num_attention_heads=2, num_key_value_heads=1, head_dim=16, max_position_embeddings=1024000,
            rope_theta=1000000000.0, sliding_window=None, tie_word_embeddings=False,
            bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        ),
        image_token_index=tokenizer.convert_tokens_to_ids("[IMG]"),
        vision_feature_layer=-1,
        vision_feature_select_strategy="full",
        projector_hidden_act="gelu",
        image_seq_length=1,
    )
    _save_random(LlavaForConditionalGeneration, config, processor, folder)


def build_llama_vision(folder: Path) -> None:
    """Mllama (vision encoder + cross-attention text model), as meta-llama/Llama-3.2-11B-Vision-Instruct."""
    from transformers import (
        MllamaConfig,
        MllamaForConditionalGeneration,
        MllamaImageProcessor,
        MllamaProcessor,
        MllamaTextConfig,
        MllamaVisionConfig,
        PreTrainedTokenizerFast,
    )

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=_with_bos(_bpe_tokenizer(_LLAMA_SPECIALS), "<|begin_of_text|>"),
        unk_token="<unk>", bos_token="<|begin_of_text|>", eos_token="<|eot_id|>",
        pad_token="<|finetune_right_pad_id|>",
    )
    # Tiles of 560 px, up to four of them, bilinear, CLIP's normalisation.
    image_processor = MllamaImageProcessor(
        size={"height": 560, "width": 560}, max_image_tiles=4, resample=2,
        image_mean=_CLIP_MEAN, image_std=_CLIP_STD, do_convert_rgb=True, do_pad=True,
    )
    processor = MllamaProcessor(image_processor=image_processor, tokenizer=tokenizer,
                                chat_template=LLAMA_VISION_TEMPLATE)
    hidden = 32
    layers = [0]
    config = MllamaConfig(
        vision_config=MllamaVisionConfig(
            hidden_size=hidden, intermediate_size=64, num_hidden_layers=2, num_global_layers=1,
            attention_heads=2, image_size=560, patch_size=14, max_num_tiles=4,
            intermediate_layers_indices=layers, vision_output_dim=hidden * (len(layers) + 1),
            supported_aspect_ratios=[[1, 1], [1, 2], [1, 3], [1, 4], [2, 1], [2, 2], [3, 1], [4, 1]],
        ),
        text_config=MllamaTextConfig(
            vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
            num_attention_heads=2, num_key_value_heads=1, cross_attention_layers=[1],
            max_position_embeddings=131072, rope_theta=500000.0,
            bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        ),
        image_token_index=tokenizer.convert_tokens_to_ids("<|image|>"),
    )
    # The instruct model stops at the end of its turn, of a tool call, or of the text.
    stops = [tokenizer.convert_tokens_to_ids(t) for t in ("<|end_of_text|>", "<|eom_id|>", "<|eot_id|>")]
    _save_random(MllamaForConditionalGeneration, config, processor, folder, eos_token_id=stops)


def _save_random(model_class, config, processor, folder: Path, **generation) -> None:
    import torch

    torch.manual_seed(0)
    model = model_class(config).eval()
    model.generation_config.do_sample = False
    for name, value in generation.items():
        setattr(model.generation_config, name, value)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)


# stabilityai/sd-turbo, scheduler/scheduler_config.json.
SD_TURBO_SCHEDULER = {
    "_class_name": "EulerDiscreteScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear",
    "beta_start": 0.00085, "clip_sample": False, "interpolation_type": "linear", "num_train_timesteps": 1000,
    "prediction_type": "epsilon", "sample_max_value": 1.0, "set_alpha_to_one": False, "sigma_max": None,
    "sigma_min": None, "skip_prk_steps": True, "steps_offset": 1, "timestep_spacing": "trailing",
    "timestep_type": "discrete", "trained_betas": None, "use_karras_sigmas": False,
}


def build_stable_diffusion(folder: Path) -> None:
    """A StableDiffusionPipeline as stabilityai/sd-turbo: UNet (512 px by default, linear attention projections as
    in SD 2), VAE, CLIP text encoder and tokenizer, and sd-turbo's own scheduler (Euler, trailing timesteps, so that
    one step starts from pure noise at t=999)."""
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=64, in_channels=4, out_channels=4, layers_per_block=1, use_linear_projection=True,
        block_out_channels=(32, 64), down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=32, attention_head_dim=8,
        norm_num_groups=32,
    )
    # Four blocks, as in real SD: the latent is 1/8 of the picture's side.
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(32, 32, 32, 32),
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
        layers_per_block=1, norm_num_groups=32, sample_size=128,
    )
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=1000, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
        max_position_embeddings=77, bos_token_id=0, eos_token_id=2, pad_token_id=1,
    ))
    scheduler = EulerDiscreteScheduler.from_config(SD_TURBO_SCHEDULER)
    pipe = StableDiffusionPipeline(
        unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=_clip_tokenizer(CLIPTokenizer, folder),
        scheduler=scheduler, safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    pipe.save_pretrained(folder)


def _clip_tokenizer(tokenizer_class, scratch: Path):
    """A CLIP tokenizer whose vocab and merges come from a BPE trained on the corpus above."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(end_of_word_suffix="</w>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    specials = ["<|startoftext|>", "<|endoftext|>"]
    tok.train_from_iterator(
        _CORPUS,
        trainers.BpeTrainer(vocab_size=300, special_tokens=specials, end_of_word_suffix="</w>", show_progress=False),
    )
    model = json.loads(tok.to_str())["model"]
    vocab_file = scratch / "clip-vocab.json"
    merges_file = scratch / "clip-merges.txt"
    vocab_file.write_text(json.dumps(model["vocab"]))
    merges = [" ".join(m) if isinstance(m, list) else m for m in model["merges"]]
    merges_file.write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    tokenizer = tokenizer_class(vocab_file=str(vocab_file), merges_file=str(merges_file), model_max_length=77)
    vocab_file.unlink()
    merges_file.unlink()
    return tokenizer


BUILDERS: dict[str, tuple[Callable[[Path], None], str]] = {
    "pixtral": (build_pixtral, "Llava + Pixtral vision tower (as mistral-community/pixtral-12b)"),
    "llama-vision": (build_llama_vision, "Mllama (as meta-llama/Llama-3.2-11B-Vision-Instruct)"),
    "stable-diffusion": (build_stable_diffusion, "StableDiffusionPipeline (as stabilityai/sd-turbo)"),
}


def offline_name(model_id: str) -> str | None:
    """``offline:pixtral`` -> ``pixtral``; anything else -> None."""
    return model_id.split(":", 1)[1] if model_id.startswith("offline:") else None


def ensure_built(name: str, root: Path) -> Path:
    """The folder of offline model ``name`` under ``root``, built first if it is missing or stale.

    Built in a temporary folder and renamed into place, so an interrupted build never leaves a half model.
    """
    if name not in BUILDERS:
        raise ValueError(f"unknown offline model {name!r}; known: {', '.join(BUILDERS)}")
    folder = root / f"{name}-v{BUILD_VERSION}"
    if (folder / _MARKER).exists():
        return folder
    with _BUILD_LOCK:
        if not (folder / _MARKER).exists():
            _build(name, root, folder)
    return folder


def _build(name: str, root: Path, folder: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(f"{name}-v*"):
        shutil.rmtree(stale, ignore_errors=True)
    build, description = BUILDERS[name]
    scratch = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    try:
        build(scratch)
        marker = {"name": name, "version": BUILD_VERSION, "architecture": description}
        (scratch / _MARKER).write_text(json.dumps(marker))
        try:
            scratch.rename(folder)
        except OSError:
            if not (folder / _MARKER).exists():  # another process may have finished the same build first
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
