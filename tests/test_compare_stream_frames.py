"""The Compare view's streaming events skip Gradio's postprocessing (postprocess=False, for the app's CPU): every
value their frames send must be what the page takes as is. A picture goes out as a PNG in Gradio's cache."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
from PIL import Image

from arena.ui.compare_frames import picture_update
from tests.conftest import openai_entry
from tests.test_compare_view import Session, asked, built_view


def sent_as_is(value) -> bool:
    """A value the page takes without Gradio's postprocessing: text, nothing, a component update without a
    picture in it, or an update whose picture is a file Gradio serves."""
    if value is None or isinstance(value, str):
        return True
    if isinstance(value, gr.components.Component):
        return not isinstance(value.constructor_args.get("value"), Image.Image)
    if isinstance(value, dict) and value.get("__type__") == "update":
        picture = value.get("value")
        return picture is None or isinstance(picture, str) or Path(picture["path"]).is_file()
    return False


def test_every_value_of_a_run_with_a_picture_is_sent_as_is(loopback, keys, engine_factory):
    engine = engine_factory([openai_entry(loopback, "writer", model="echo-frames-writer"),
                             openai_entry(loopback, "painter", kind="openai-image", model="gpt-image-1")])
    view = built_view(engine)
    frames = list(view.run(asked(view, "a spider", ["writer", "painter"]), Session()))
    assert frames[-1][view.message].startswith("Finished: 2 done.")
    assert all(sent_as_is(value) for frame in frames for value in frame.values())
    pictures = [value for frame in frames for component, value in frame.items()
                if component is view.slots[1].image and isinstance(value, dict) and value.get("value")]
    assert pictures and pictures[-1]["visible"] is True


def test_a_picture_update_is_a_png_gradio_serves():
    image = gr.Image(type="pil", format="png", render=False)
    update = picture_update(image, Image.new("RGB", (8, 6), "red"), visible=True, label="the picture critiqued")
    assert update["__type__"] == "update" and update["visible"] and update["label"] == "the picture critiqued"
    with Image.open(update["value"]["path"]) as saved:
        assert saved.format == "PNG" and saved.size == (8, 6)
