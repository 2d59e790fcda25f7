"""Live previews of web pages that models write, kept off the app's origin and off the network.

The page goes into an iframe's srcdoc with ``sandbox="allow-scripts"`` and no allow-same-origin, so it runs in an
opaque origin: its scripts run, but cannot reach the app's DOM, cookies or storage, open windows, submit forms or
navigate the top page. A Content-Security-Policy placed first in the page (and asked of the frame with the
``csp`` attribute) lets it load nothing: no fetch, beacon or socket, no images, styles, fonts, media or frames.

What a policy cannot stop is the frame navigating itself (``<meta http-equiv="refresh">``, ``location.href = …``,
a link clicked by script): that request would go out before anything blocks it. So

- before framing, the page is parsed by an HTML5 parser (lexbor, through selectolax) and loses every
  ``<meta http-equiv>``, ``<base>``, ``<link>`` (prefetch, preconnect, stylesheets…), ``<noscript>``,
  speculation-rules script and nested frames or plugins; the result is parsed again to make sure none came back;
- the frame sits inside a second, script-free frame whose own policy has ``frame-src 'none'``: the browser checks
  every navigation of a frame against the policy of the document that embeds it, so any navigation of the page
  (to any URL) is refused before a request is made;
- WebRTC, which no policy covers, loses its constructors before the page's own scripts run, and frames the page
  adds by script (each a fresh realm) are removed as they are inserted.
"""

from __future__ import annotations

import re
from html import escape

from selectolax.lexbor import LexborHTMLParser

POLICY = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; "
          "font-src data:; media-src data:; form-action 'none'; base-uri 'none'")

_FENCED = re.compile(r"```[ \t]*html?[^\n]*\n(.*?)(?:```|\Z)", re.IGNORECASE | re.DOTALL)
_LOOKS_LIKE_PAGE = re.compile(r"^\s*(<!doctype html|<html[\s>])", re.IGNORECASE)
_NAVIGATES = "meta[http-equiv], base, link, noscript, script[type], iframe, frame, frameset, object, embed"
_UNSAFE_PAGE = "<!doctype html><p>This page could not be made safe to preview.</p>"


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


def _ways_out(tree: LexborHTMLParser) -> list:
    return [node for node in tree.css(_NAVIGATES)
            if node.tag != "script" or (node.attributes.get("type") or "").strip().lower() == "speculationrules"]


def neutralised(page: str) -> str:
    """``page`` without the markup that navigates or preloads by itself, serialised from an HTML5 parse."""
    for _ in range(3):
        tree = LexborHTMLParser(page)
        found = _ways_out(tree)
        if not found:
            root = tree.root
            return root.html if root is not None else ""
        for node in found:
            node.decompose()
        page = tree.root.html if tree.root is not None else ""
    return _UNSAFE_PAGE  # still finding some after three rounds: a page built to confuse the parser


# WebRTC is outside every Content-Security-Policy directive Chromium knows, and a sandbox does not stop it: a
# script could send STUN/TURN packets (with whatever it puts in a username) to any host. Before any script of the
# page runs, its realm loses the constructors, and frames it adds (which would bring a fresh realm with them) are
# taken out as they are inserted, before their document loads.
_FIRST_SCRIPT = """<script>
for (const name of ['RTCPeerConnection', 'webkitRTCPeerConnection', 'RTCDataChannel', 'RTCIceTransport',
                    'RTCSctpTransport']) {
  try { Object.defineProperty(window, name, {value: undefined, writable: false, configurable: false}); }
  catch (e) {}
}
new MutationObserver((records) => {
  for (const record of records) for (const node of record.addedNodes) {
    if (node.nodeType !== 1) continue;
    for (const frame of [node, ...node.querySelectorAll('*')])
      if (/^(iframe|frame|frameset|object|embed|portal|fencedframe)$/i.test(frame.localName)) frame.remove();
  }
}).observe(document, {childList: true, subtree: true});
</script>"""


def locked(page: str) -> str:
    """``page`` neutralised, with the policy as its first element, before anything the model wrote can run."""
    return (f'<!doctype html><meta http-equiv="Content-Security-Policy" content="{POLICY}">{_FIRST_SCRIPT}'
            + neutralised(page))


def frame(page: str, title: str = "preview of the page the model wrote", height: int = 420) -> str:
    """The iframe markup for a preview; everything the model wrote is inside the escaped srcdoc attributes."""
    inner = (f'<iframe title="{escape(title)}" sandbox="allow-scripts" csp="{POLICY}" referrerpolicy="no-referrer" '
             f'srcdoc="{escape(locked(page), quote=True)}" '
             'style="display:block;width:100%;height:100%;border:0;background:white"></iframe>')
    # The outer document embeds the page and has frame-src 'none' (from default-src): no navigation of the page
    # gets past it.
    outer = (f'<!doctype html><meta http-equiv="Content-Security-Policy" content="{POLICY}">'
             f'<body style="margin:0;height:100vh;overflow:hidden">{inner}</body>')
    return (
        f'<iframe class="arena-preview" title="{escape(title)}" sandbox="allow-scripts" csp="{POLICY}" '
        f'referrerpolicy="no-referrer" srcdoc="{escape(outer, quote=True)}" '
        f'style="width:100%;height:{int(height)}px;border:1px solid #cbd5e1;border-radius:8px;background:white">'
        "</iframe>"
    )
