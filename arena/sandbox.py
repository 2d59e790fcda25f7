"""Live previews of web pages that models write, kept off the app's origin.

The page goes into an iframe's srcdoc with ``sandbox="allow-scripts"`` and no allow-same-origin, so it runs in an
opaque origin: its scripts run, but cannot reach the app's DOM, cookies or storage, open windows or submit forms.
A Content-Security-Policy placed first in the page (and asked of the frame with the ``csp`` attribute) lets it
load nothing from the network: no fetch, no images, scripts or styles from URLs.
"""

from __future__ import annotations

import re
from html import escape

POLICY = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; "
          "font-src data:; media-src data:; form-action 'none'; base-uri 'none'")

_FENCED = re.compile(r"```[ \t]*html?[^\n]*\n(.*?)(?:```|\Z)", re.IGNORECASE | re.DOTALL)
_LOOKS_LIKE_PAGE = re.compile(r"^\s*(<!doctype html|<html[\s>])", re.IGNORECASE)
_DOCTYPE = re.compile(r"^\s*<!doctype[^>]*>", re.IGNORECASE)


def page_in(text: str) -> str | None:
    """The web page an answer contains: its first ```html block, or the whole answer if it is a page; else None."""
    if not text:
        return None
    fenced = _FENCED.search(text)
    if fenced and "<" in fenced.group(1):
        return fenced.group(1).strip()
    if _LOOKS_LIKE_PAGE.match(text):
        return text.strip()
    return None


def locked(page: str) -> str:
    """``page`` with the policy as its first element, before anything the model wrote can run."""
    meta = f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">'
    doctype = _DOCTYPE.match(page)
    if doctype:
        return page[: doctype.end()] + meta + page[doctype.end():]
    return "<!doctype html>" + meta + page


def frame(page: str, title: str = "preview of the page the model wrote", height: int = 420) -> str:
    """The iframe markup for a preview; everything the model wrote is inside the escaped srcdoc attribute."""
    return (
        f'<iframe class="arena-preview" title="{escape(title)}" sandbox="allow-scripts" csp="{POLICY}" '
        f'referrerpolicy="no-referrer" srcdoc="{escape(locked(page), quote=True)}" '
        f'style="width:100%;height:{int(height)}px;border:1px solid #cbd5e1;border-radius:8px;background:white">'
        "</iframe>"
    )
