"""Local vision-language models through transformers: AutoModelForImageTextToText + AutoProcessor, streamed.

Pixtral (Llava + Pixtral vision tower), Llama 3.2 Vision (Mllama) and any other image-text-to-text checkpoint.
"""

from __future__ import annotations

import threading

from arena.backends.local import Loaded, LocalBackend, module_bytes
from arena.request import Request


def chat_messages(request: Request) -> list[dict]:
    """The conversation in the chat-template shape: each image goes before the text of its message."""

    def content(text: str, image) -> list[dict]:
        parts = [{"type": "text", "text": text}]
        if image is not None:
            parts.insert(0, {"type": "image", "image": image.image})
        return parts

    return [{"role": turn.role, "content": content(turn.text, turn.image)} for turn in request.turns()]


class TransformersVLM(LocalBackend):
    label = "local transformers VLM"
    image_input = True
    libraries = ("torch", "transformers", "tokenizers", "accelerate")
    weights_marker = "config.json"
    reads = frozenset({"max_tokens", "temperature", "top_p", "seed"})

    @classmethod
    def _import(cls) -> None:
        import torch  # noqa: F401
        import transformers

        transformers.utils.logging.disable_progress_bar()
        # Resolved once, here, under the import lock.
        from transformers import (  # noqa: F401
            AutoModelForImageTextToText,
            AutoProcessor,
            StoppingCriteria,
            StoppingCriteriaList,
            TextIteratorStreamer,
        )

    def load(self, source: str, local_only: bool, device: str, dtype) -> Loaded:
        from transformers import AutoModelForImageTextToText, AutoProcessor

        processor = AutoProcessor.from_pretrained(source, local_files_only=local_only)
        placement = {"device_map": device} if device.startswith("cuda") else {}
        model = AutoModelForImageTextToText.from_pretrained(
            source, dtype=dtype, local_files_only=local_only, **placement
        )
        if not placement:
            model = model.to(device)
        model.eval()
        return Loaded((model, processor), module_bytes(model), device)

    def generate(self, request: Request, out) -> None:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        params = self.params(request)
        with self.model(out) as ((model, processor), device):
            out.activity("reading the prompt")
            inputs = processor.apply_chat_template(
                chat_messages(request), add_generation_prompt=True, tokenize=True, return_dict=True,
                return_tensors="pt",
            ).to(model.device)
            if "pixel_values" in inputs:
                inputs["pixel_values"] = inputs["pixel_values"].to(model.dtype)

            sampling = bool(params.temperature)
            options = {"max_new_tokens": params.max_tokens, "do_sample": sampling}
            if sampling:
                options["temperature"] = params.temperature
                if params.top_p:
                    options["top_p"] = params.top_p
            options |= self.entry.extra
            seed = params.seed if params.seed is not None else 0
            out.record(
                **options, seed=seed, device=device, dtype=str(model.dtype).removeprefix("torch."),
                prompt_tokens=int(inputs["input_ids"].shape[-1]),
            )
            torch.manual_seed(seed)

            class StopWhenCancelled(StoppingCriteria):
                def __call__(self, input_ids, scores, **kwargs):
                    return out.cancelled.is_set()

            streamer = TextIteratorStreamer(processor.tokenizer, skip_prompt=True, skip_special_tokens=True)
            result: dict = {}

            def run() -> None:
                try:
                    with torch.inference_mode():
                        result["ids"] = model.generate(
                            **inputs, streamer=streamer,
                            stopping_criteria=StoppingCriteriaList([StopWhenCancelled()]), **options,
                        )
                except BaseException as error:  # handed to the pane's thread below
                    result["error"] = error
                    streamer.end()

            worker = threading.Thread(target=run, name=f"generate-{self.entry.name}", daemon=True)
            out.activity("")
            worker.start()
            try:
                for piece in streamer:
                    out.text(piece)
            finally:
                worker.join()
            if "error" in result:
                raise result["error"]
            prompt_length = inputs["input_ids"].shape[-1]
            out.usage(int(result["ids"].shape[-1] - prompt_length))
