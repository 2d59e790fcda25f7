"""Tiny random-weight models of the real architectures, built locally.

With no network and no keys the app still needs something to compare. These builders make a
Pixtral-style VLM (Llava + Pixtral vision tower), a Llama-3.2-Vision-style VLM (Mllama) and a
Stable Diffusion pipeline from configs, with tokenizers trained on a few sentences, and save them with
``save_pretrained``. The backends then load them through the same ``from_pretrained`` code that hub ids use.
Their words and pictures are noise; every code path is real.

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
BUILD_VERSION = 2
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


_PIXTRAL_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'user' %}[INST]"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}[IMG]{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}[/INST]"
    "{% else %}"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}"
    "{% endif %}{{ eos_token }}"
    "{% endif %}{% endfor %}"
)

_LLAMA_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<|image|>{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|eot_id|>{% endfor %}"
    "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
)


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

    specials = ["<unk>", "<s>", "</s>", "<pad>", "[INST]", "[/INST]", "[IMG]", "[IMG_BREAK]", "[IMG_END]"]
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=_bpe_tokenizer(specials),
        unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="<pad>",
    )
    image_processor = PixtralImageProcessor(size={"longest_edge": 64}, patch_size={"height": 16, "width": 16})
    processor = PixtralProcessor(
        image_processor=image_processor, tokenizer=tokenizer, patch_size=16, chat_template=_PIXTRAL_TEMPLATE
    )
    vocab = len(tokenizer)
    config = LlavaConfig(
        vision_config=PixtralVisionConfig(
            hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
            head_dim=16, image_size=64, patch_size=16,
        ),
        text_config=MistralConfig(
            vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
            num_attention_heads=2, num_key_value_heads=1, head_dim=16, max_position_embeddings=2048,
            bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        ),
        image_token_index=tokenizer.convert_tokens_to_ids("[IMG]"),
        vision_feature_layer=-1,
        vision_feature_select_strategy="full",
        projector_hidden_act="gelu",
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

    specials = [
        "<unk>", "<|begin_of_text|>", "<|end_of_text|>", "<|finetune_right_pad_id|>", "<|image|>", "<|python_tag|>",
        "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
    ]
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=_bpe_tokenizer(specials),
        unk_token="<unk>", bos_token="<|begin_of_text|>", eos_token="<|eot_id|>",
        pad_token="<|finetune_right_pad_id|>",
    )
    image_processor = MllamaImageProcessor(size={"height": 32, "width": 32}, max_image_tiles=1)
    processor = MllamaProcessor(image_processor=image_processor, tokenizer=tokenizer, chat_template=_LLAMA_TEMPLATE)
    hidden = 32
    layers = [0]
    config = MllamaConfig(
        vision_config=MllamaVisionConfig(
            hidden_size=hidden, intermediate_size=64, num_hidden_layers=2, num_global_layers=1,
            attention_heads=2, image_size=32, patch_size=16, max_num_tiles=1,
            intermediate_layers_indices=layers, vision_output_dim=hidden * (len(layers) + 1),
            supported_aspect_ratios=[[1, 1]],
        ),
        text_config=MllamaTextConfig(
            vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
            num_attention_heads=2, num_key_value_heads=1, cross_attention_layers=[1],
            max_position_embeddings=2048,
            bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        ),
        image_token_index=tokenizer.convert_tokens_to_ids("<|image|>"),
    )
    _save_random(MllamaForConditionalGeneration, config, processor, folder)


def _save_random(model_class, config, processor, folder: Path) -> None:
    import torch

    torch.manual_seed(0)
    model = model_class(config).eval()
    model.generation_config.do_sample = False
    model.save_pretrained(folder)
    processor.save_pretrained(folder)


def build_stable_diffusion(folder: Path) -> None:
    """A StableDiffusionPipeline: UNet, VAE, CLIP text encoder and tokenizer, DDIM scheduler."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=16, in_channels=4, out_channels=4, layers_per_block=1,
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
    scheduler = DDIMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
        set_alpha_to_one=False, steps_offset=1,
    )
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
