"""Small helpers every view uses to put user and model text on screen safely, and to tell sessions apart."""

from __future__ import annotations

import functools
import inspect
import logging
from html import escape

import gradio as gr

from arena import sandbox
from arena.errors import StorageError

log = logging.getLogger(__name__)


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


def storage_said(where: str):
    """A handler's StorageError (the database or bucket down) said as its one sentence in the view's component
    ``where`` (an attribute name), one warning line in the log and no traceback; the next click tries again."""
    def said(self, error: StorageError) -> dict:
        log.warning("%s", error)
        return {getattr(self, where): md(error)}

    def wrap(handler):
        if inspect.isgeneratorfunction(handler):
            @functools.wraps(handler)
            def streamed(self, *args, **kwargs):
                try:
                    yield from handler(self, *args, **kwargs)
                except StorageError as error:
                    yield said(self, error)
            return streamed

        @functools.wraps(handler)
        def plain(self, *args, **kwargs):
            try:
                return handler(self, *args, **kwargs)
            except StorageError as error:
                return said(self, error)
        return plain

    return wrap
