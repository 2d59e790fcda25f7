"""Small helpers every view uses to put user and model text on screen safely, and to tell sessions apart."""

from __future__ import annotations

from html import escape

import gradio as gr

from arena import sandbox


def md(text) -> str:
    """Plain text for Markdown: no markup, no HTML (Gradio sanitises too)."""
    return "".join("\\" + c if c in "\\`*_{}[]<>()#+-.!|~" else c for c in str(text))


def session_of(request: gr.Request | None) -> str:
    return getattr(request, "session_hash", None) or "default"


def user_of(request: gr.Request | None) -> str | None:
    """The name the person signed in with (--users or --auth); None where the app asks no one to sign in."""
    return getattr(request, "username", None) or None


def signed_in_line(request: gr.Request) -> str:
    """Who this page is signed in as, and the way out (Gradio's /logout, in this tab)."""
    name = user_of(request)
    return f'<p>Signed in as {escape(name)} · <a href="logout">Sign out</a></p>' if name else ""


def preview(text: str) -> gr.HTML:
    """A live preview of the web page in an answer, in a sandboxed frame (arena.sandbox); hidden if none."""
    page = sandbox.page_in(text)
    if page is None:
        return gr.HTML(value="", visible=False)
    note = ('<p style="font-size:0.85em;color:#475569;margin:0.4em 0"><b>Live preview</b> of the page in this '
            "answer, in a sandboxed frame: its scripts run, but cannot reach this app, its cookies or storage, "
            "or the network.</p>")
    return gr.HTML(value=note + sandbox.frame(page), visible=True)
