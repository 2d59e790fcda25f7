"""Small helpers every view uses to put user and model text on screen safely, and to tell sessions apart."""

from __future__ import annotations

import gradio as gr


def md(text) -> str:
    """Plain text for Markdown: no markup, no HTML (Gradio sanitises too)."""
    return "".join("\\" + c if c in "\\`*_{}[]<>()#+-.!|~" else c for c in str(text))


def session_of(request: gr.Request | None) -> str:
    return getattr(request, "session_hash", None) or "default"
