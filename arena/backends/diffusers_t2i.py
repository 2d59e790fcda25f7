"""Local text-to-image through diffusers' AutoPipelineForText2Image: SD-Turbo, SDXL-Turbo, FLUX.1-schnell…"""

from __future__ import annotations

import random

from arena import hub
from arena.backends.local import Loaded, LocalBackend, module_bytes
from arena.request import GenerationParams, Request


class DiffusersText2Image(LocalBackend):
    label = "local diffusers text-to-image"
    output = "image"
    libraries = ("torch", "diffusers", "transformers")
    weights_marker = "model_index.json"
    reads = frozenset({"seed", "steps", "guidance", "width", "height"})
    defaults = GenerationParams(steps=4, guidance=0.0)

    @classmethod
    def _import(cls) -> None:
        import diffusers
        import torch  # noqa: F401

        diffusers.utils.logging.disable_progress_bar()
        from diffusers import AutoPipelineForText2Image  # noqa: F401  (resolved once, here, under the import lock)

    def load(self, source: str, local_only: bool, device: str, dtype) -> Loaded:
        from diffusers import AutoPipelineForText2Image

        variant = hub.folder_variant(source, dtype.itemsize if hasattr(dtype, "itemsize") else 4)
        pipe = AutoPipelineForText2Image.from_pretrained(source, dtype=dtype, local_files_only=local_only,
                                                         **({"variant": variant} if variant else {}))
        pipe.set_progress_bar_config(disable=True)
        pipe = pipe.to(device)
        size = module_bytes(*(c for c in pipe.components.values()))
        return Loaded(pipe, size, device)

    def generate(self, request: Request, out) -> None:
        import torch

        params = self.params(request)
        with self.model(out) as (pipe, device):
            seed = params.seed if params.seed is not None else random.randrange(2**32)
            options = {"num_inference_steps": params.steps, "guidance_scale": params.guidance}
            if params.width and params.height:
                options |= {"width": params.width, "height": params.height}
            options |= self.entry.extra
            out.record(**options, seed=seed, device=device)
            if cut := prompt_cut(pipe, request.prompt):
                out.notice(cut)
            out.activity("")
            out.progress(0, params.steps)

            def on_step_end(pipeline, step, timestep, tensors):
                out.progress(step + 1, params.steps)
                if out.cancelled.is_set():
                    pipeline._interrupt = True
                return tensors

            with torch.inference_mode():
                result = pipe(
                    prompt=request.prompt,
                    generator=torch.Generator("cpu").manual_seed(seed),
                    callback_on_step_end=on_step_end,
                    **options,
                )
            # After Stop the pipeline decodes the latents it had: the pane keeps that partial picture.
            out.image(result.images[0])


def prompt_cut(pipe, prompt: str) -> str | None:
    """A sentence when the pipeline's text encoders read less than the whole prompt (CLIP reads 77 tokens: a long
    description drawn by Stable Diffusion loses its end), else None. With several encoders (SDXL's two CLIPs,
    FLUX's CLIP and T5) the one that reads the most is counted."""
    tokenizers = [t for t in (getattr(pipe, name, None) for name in ("tokenizer", "tokenizer_2", "tokenizer_3"))
                  if t is not None and 0 < getattr(t, "model_max_length", 0) < 100_000]
    if not tokenizers or not prompt:
        return None
    reader = max(tokenizers, key=lambda t: t.model_max_length)
    count = len(reader(prompt).input_ids)
    if count <= reader.model_max_length:
        return None
    return f"The prompt is {count} tokens; this model reads the first {reader.model_max_length}."
