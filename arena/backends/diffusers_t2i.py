"""Local text-to-image through diffusers' AutoPipelineForText2Image: SD-Turbo, SDXL-Turbo, FLUX.1-schnell…"""

from __future__ import annotations

import random

import diffusers
import torch
from diffusers import AutoPipelineForText2Image

from arena.backends.base import Backend
from arena.backends.local import Loaded, module_bytes, pick_device, pick_dtype, resolve_weights, weights_size
from arena.request import GenerationParams, Request

# Imported here, once, under the engine's lock (see transformers_vlm).
diffusers.utils.logging.disable_progress_bar()


class DiffusersText2Image(Backend):
    defaults = GenerationParams(steps=4, guidance=0.0)

    def _load(self, source: str, local_only: bool, device: str) -> Loaded:
        pipe = AutoPipelineForText2Image.from_pretrained(
            source, dtype=pick_dtype(self.entry, device), local_files_only=local_only
        )
        pipe.set_progress_bar_config(disable=True)
        pipe = pipe.to(device)
        size = module_bytes(*(c for c in pipe.components.values()))
        return Loaded(pipe, size, device)

    def generate(self, request: Request, out) -> None:
        params = self.params(request)
        device = pick_device(self.entry)
        with self.context.local.device_turn(device, out):
            out.activity("loading model…")
            source, local_only = resolve_weights(self.entry, self.context.local.offline_root)
            pipe = self.context.local.get(
                f"diffusers:{source}:{device}",
                lambda: self._load(source, local_only, device),
                estimate=weights_size(source),
            )
            seed = params.seed if params.seed is not None else random.randrange(2**32)
            options = {"num_inference_steps": params.steps, "guidance_scale": params.guidance}
            if params.width and params.height:
                options |= {"width": params.width, "height": params.height}
            options |= self.entry.extra
            out.record(**options, seed=seed, device=device)
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
