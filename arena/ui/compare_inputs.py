"""What the Compare view and its API read from people and clients: uploaded images, model names, parameters."""

from __future__ import annotations

import json
from dataclasses import dataclass

import gradio as gr
from PIL import Image, UnidentifiedImageError

from arena import images
from arena.errors import InputError
from arena.images import InputImage
from arena.request import GenerationParams
from arena.settings import Settings
from arena.ui.api_files import SERVER_PATH_REFUSED, ServerPath


@dataclass(frozen=True)
class Ask:
    """What the top of the Compare view asks for: a prompt, an image, models, parameters, and whether to keep
    the outputs in the gallery."""

    prompt: str
    image: InputImage | None
    models: list[str]
    params: GenerationParams
    save: bool


def image_upload(**options) -> gr.Image:
    """A gr.Image whose unreadable uploads become a clear message instead of a bare "Error".

    The instance's preprocess is wrapped rather than subclassed: Gradio writes a .pyi file beside the
    source of every Component subclass it sees.
    """
    # image_mode=None: Gradio hands the uploaded file over as it came, undecoded (arena.images decodes it once,
    # within its limits); with a mode, Gradio itself decoded and converted every upload at full size.
    component = gr.Image(**{"image_mode": None, **options})
    preprocess = component.preprocess

    def checked(payload):
        try:
            return preprocess(payload)
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            return UnreadableUpload()

    component.preprocess = checked
    return component


class UnreadableUpload:
    """Stands in for an upload Gradio itself could not open, so the handler can say so in plain words."""


def read_image(image_path, settings: Settings) -> InputImage | None:
    """An uploaded image (a box's value or an API file), checked and normalised; none gives None."""
    if isinstance(image_path, UnreadableUpload):
        raise InputError("The uploaded file is not an image Arena can read (PNG, JPEG, WebP, GIF, BMP…).")
    if isinstance(image_path, ServerPath):
        raise InputError(SERVER_PATH_REFUSED)
    if not image_path:
        return None
    return images.load_image(image_path, max_bytes=settings.max_upload_bytes, max_pixels=settings.max_pixels)


def model_names(value, what: str) -> list[str]:
    """Model names from the API: a list, a JSON list, or comma-separated."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip().startswith("[") else value.split(",")
        except ValueError:
            value = None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f'{what} must be a list of model names, e.g. ["offline-pixtral", "offline-sd"]')
    return [v.strip() for v in value if v.strip()]


def api_params(value) -> GenerationParams:
    """The API's params object; unknown or out-of-range fields raise InputError naming them."""
    if value is not None and not isinstance(value, dict):
        raise InputError('params must be an object, e.g. {"seed": 7, "max_tokens": 200}')
    return GenerationParams.parse(value)
