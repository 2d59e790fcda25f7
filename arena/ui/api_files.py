"""A file argument of the API that takes uploads only: a path on the server is refused in one sentence.

Gradio refuses a FileData payload naming a local file that was not uploaded (with a bare "Error"), but it fetches
one naming an http(s) URL from the server itself, and a plain string instead of a FileData fails its validation
with a bare "Error" too. Here only files in Gradio's upload folder are moved into its cache (a URL is never
fetched), and whatever else the argument names reaches the handler as a ServerPath, refused in words.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr
from gradio.data_classes import FileData, GradioRootModel
from gradio.utils import get_upload_folder

SERVER_PATH_REFUSED = ("The image must be uploaded with the request (gradio_client: handle_file(path)); "
                       "paths on the server are not read.")


class ServerPath(str):
    """A path on the server that the API was asked to read instead of an upload."""


class _UploadOrPath(GradioRootModel):
    root: FileData | str


def uploaded(path: str | Path) -> bool:
    try:
        return Path(path).resolve().is_relative_to(Path(get_upload_folder()).resolve())
    except (OSError, ValueError):
        return False


def api_file(**options) -> gr.File:
    """A single-file gr.File (type="filepath") whose payload is an upload, or a ServerPath for the handler."""
    component = gr.File(type="filepath", **options)
    component.api_info()  # the schema clients see stays FileData's (cached before the model below is set)
    move = component.move_resource_to_block_cache
    async_move = component.async_move_resource_to_block_cache
    preprocess = component.preprocess

    def move_uploads_only(path):
        return move(path) if uploaded(path) else path

    async def async_move_uploads_only(path):
        return await async_move(path) if uploaded(path) else path  # a URL is not fetched either

    def checked(payload):
        value = getattr(payload, "root", payload)
        if isinstance(value, str):
            return ServerPath(value)
        if isinstance(value, FileData) and not uploaded(value.path):
            return ServerPath(value.path)
        return preprocess(value)

    component.data_model = _UploadOrPath
    component.move_resource_to_block_cache = move_uploads_only
    component.async_move_resource_to_block_cache = async_move_uploads_only
    component.preprocess = checked
    return component
