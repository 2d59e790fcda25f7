"""The Gradio web app: layout and wiring only; everything else lives in the library."""

from __future__ import annotations

import gradio as gr

from arena.engine import Engine
from arena.ui.compare import CompareView
from arena.ui.panes import CSS

__all__ = ["CSS", "build_app"]


def build_app(engine: Engine) -> gr.Blocks:
    with gr.Blocks(title="Arena — compare multimodal models") as demo:
        gr.Markdown(
            "# Arena\nOne prompt, optionally with one image, to many vision-language models and image generators "
            "at once. Answers stream side by side."
        )
        view = CompareView(engine)
        view.build()
        # A server started after the app (Ollama, llama.cpp) shows up at the next page load.
        demo.load(view.availability, outputs=[view.models, view.unavailable, view.catalog_table],
                  api_visibility="private", show_progress="hidden")
    demo.arena_compare = view
    return demo
