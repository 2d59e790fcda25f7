"""Hostile answers and hostile pages in a real Chromium: nothing outside the allowlist reaches the DOM, nothing
reaches the network, every page carries the Content-Security-Policy, and the app's own pages break no rule of it."""

from __future__ import annotations

import json
import socket
import threading
import time
from html import escape

import pytest

from arena import sandbox
from arena.suites.model import load_suite
from arena.suites.runner import SuiteRun
from arena.web import CONTENT_SECURITY_POLICY
from tests.apprunner import environment, running_app, write_catalog
from tests.browser import needs_chromium, open_panel
from tests.conftest import ARTIFACTS, LOOPBACK_KEY, openai_entry

pytestmark = needs_chromium

# Every way out of a previewed page we could think of, each in its own frame (a navigation ends the page).
WAYS_OUT = {
    "meta-refresh": '<meta http-equiv="refresh" content="0;url=OUT">',
    "meta-refresh-body": '<body><p>hi</p><META HTTP-EQUIV="Refresh" CONTENT="0; URL=OUT"></body>',
    "meta-refresh-comment-trick": '<!--> <meta http-equiv="refresh" content="0;url=OUT"> -->',
    "noscript-mutation": '<noscript><p title="</noscript><meta http-equiv=refresh content=0;url=OUT>"></p></noscript>',
    "meta-refresh-written": '<script>document.write(\'<meta http-equiv="refresh" content="0;url=OUT">\')</script>',
    "meta-refresh-inserted": '<script>const m = document.createElement("meta"); m.httpEquiv = "refresh"; '
                             'm.content = "0;url=OUT"; document.head.append(m);</script>',
    "location-href": '<script>location.href = "OUT";</script>',
    "location-assign": '<script>location.assign("OUT");</script>',
    "location-replace": '<script>location.replace("OUT");</script>',
    "top-location": '<script>try { top.location = "OUT"; } catch (e) {}</script>',
    "parent-location": '<script>try { parent.location.href = "OUT"; } catch (e) {}</script>',
    "window-open": '<script>window.open("OUT");</script>',
    "form-submit": '<form id="f" action="OUT" method="post"><input name="q" value="secret"></form>'
                   '<script>document.getElementById("f").submit();</script>',
    "form-target-top": '<form id="f" action="OUT" target="_top"></form><script>f.requestSubmit();</script>',
    "link-click": '<a id="a" href="OUT">x</a><script>document.getElementById("a").click();</script>',
    "link-click-top": '<a id="a" href="OUT" target="_top">x</a><script>a.click();</script>',
    "link-click-blank": '<a id="a" href="OUT" target="_blank">x</a><script>a.click();</script>',
    "link-ping": '<a id="a" href="#x" ping="OUT">x</a><script>a.click();</script>',
    "base-href": '<base href="OUT/"><img src="relative.png"><a id="a" href="rel">x</a><script>a.click()</script>',
    "prefetch": '<link rel="prefetch" href="OUT">',
    "preconnect": '<link rel="preconnect" href="OUT"><link rel="dns-prefetch" href="OUT">',
    "preload": '<link rel="preload" as="image" href="OUT"><link rel="modulepreload" href="OUT">',
    "stylesheet": '<link rel="stylesheet" href="OUT">',
    "icon": '<link rel="icon" href="OUT">',
    "speculation-rules": '<script type="speculationrules">{"prefetch": [{"source": "list", "urls": ["OUT"]}],'
                         '"prerender": [{"source": "list", "urls": ["OUT"]}]}</script>',
    "css-url": '<div style="background:url(OUT);width:9px;height:9px"></div>',
    "css-import": "<style>@import url(OUT);</style>",
    "css-font": '<style>@font-face { font-family: f; src: url(OUT); } p { font-family: f; }</style><p>x</p>',
    "css-background": "<style>body { background-image: url(OUT); }</style>",
    "img": '<img src="OUT">',
    "img-srcset": '<img srcset="OUT 2x">',
    "picture-source": '<picture><source srcset="OUT"><img alt=""></picture>',
    "video-poster": '<video poster="OUT" src="OUT"></video>',
    "audio": '<audio src="OUT" autoplay></audio><video><track src="OUT" default></video>',
    "input-image": '<input type="image" src="OUT">',
    "body-background": '<body background="OUT"></body>',
    "svg-image": '<svg><image href="OUT" width="9" height="9"/></svg>',
    "svg-use": '<svg><use href="OUT#x"/></svg>',
    "object": '<object data="OUT"></object>',
    "embed": '<embed src="OUT">',
    "nested-iframe": '<iframe src="OUT"></iframe>',
    "fetch": '<script>fetch("OUT").catch(() => 0);</script>',
    "xhr": '<script>try { const x = new XMLHttpRequest(); x.open("GET", "OUT"); x.send(); } catch (e) {}</script>',
    "websocket": '<script>try { new WebSocket("OUT".replace("http", "ws")); } catch (e) {}</script>',
    "event-source": '<script>try { new EventSource("OUT"); } catch (e) {}</script>',
    "beacon": '<script>try { navigator.sendBeacon("OUT", "secret"); } catch (e) {}</script>',
    "worker": '<script>try { new Worker("OUT"); } catch (e) {}</script>',
    "import": '<script>import("OUT").catch(() => 0);</script>',
    "script-src": '<script src="OUT"></script>',
}


def _outside(loopback, marker: str) -> list[str]:
    return [seen.path for seen in list(loopback.requests) if marker in seen.path]


def _show_frames_then_call_home(browser, loopback, frames: str, control: str) -> None:
    """Load the frames in a bare page; 1.5 s after they loaded (or 10 s at most) the page asks for ``control``."""
    page = browser.new_page()
    call = f'fetch("{loopback.url}{control}", {{mode: "no-cors"}})'
    page.set_content(frames + "<script>let called = false; const home = () => { if (!called) { called = true; "
                     f"setTimeout(() => {call}, 1500); }} }}; addEventListener('load', home); "
                     "setTimeout(home, 10000);</script>", wait_until="commit")
    start = time.monotonic()
    while not _outside(loopback, control) and time.monotonic() - start < 60:
        page.wait_for_timeout(100)  # waits on the condition: the control request, sent after the frames ran
    assert _outside(loopback, control), "the page never called home: the test itself is broken"
    page.close()


@pytest.mark.parametrize("walls", ["both", "outer frame alone"])
def test_a_previewed_page_reaches_nothing_by_any_way_out(browser, loopback, monkeypatch, walls):
    if walls == "outer frame alone":  # prove the outer frame holds even if the parse missed something
        monkeypatch.setattr(sandbox, "neutralised", lambda page: page)
    marker = f"/way-out-{walls.replace(' ', '-')}/"
    frames = "".join(
        sandbox.frame("<!doctype html><html><head></head><body>" + html.replace("OUT", f"{loopback.url}{marker}{name}")
                      + "</body></html>", title=name, height=60)
        for name, html in WAYS_OUT.items()
    )
    _show_frames_then_call_home(browser, loopback, frames, f"/control-{walls.replace(' ', '-')}")
    assert _outside(loopback, marker) == []


def test_the_old_single_frame_let_a_meta_refresh_out(browser, loopback):
    """The hole this closes: a frame with only the page's own policy follows a meta refresh."""
    from html import escape

    page = f'<!doctype html><meta http-equiv="refresh" content="0;url={loopback.url}/old-frame/refresh">'
    single = (f'<iframe sandbox="allow-scripts" srcdoc="{escape(page, quote=True)}"></iframe>')
    _show_frames_then_call_home(browser, loopback, single, "/control-old-frame")
    assert _outside(loopback, "/old-frame/") == ["/old-frame/refresh"]


class _RawListener:
    """A TCP and a UDP socket on one loopback port, counting whatever reaches them (STUN/TURN is not HTTP)."""

    def __init__(self):
        self.tcp = socket.socket()
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen()
        self.port = self.tcp.getsockname()[1]
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.seen: list[str] = []
        self.stopping = threading.Event()
        for target in (self._accept, self._receive):
            threading.Thread(target=target, daemon=True).start()

    def _accept(self):
        self.tcp.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                self.tcp.accept()[0].close()
                self.seen.append("tcp")
            except OSError:
                pass

    def _receive(self):
        self.udp.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                self.udp.recvfrom(4096)
                self.seen.append("udp")
            except OSError:
                pass

    def close(self):
        self.stopping.set()
        self.tcp.close()
        self.udp.close()


RTC = ("try {{ const pc = new {where}RTCPeerConnection({{iceServers: [{{urls: 'stun:127.0.0.1:{port}'}}, "
       "{{urls: 'turn:127.0.0.1:{port}?transport=tcp', username: 'secret', credential: 'c'}}]}}); "
       "pc.createDataChannel('x'); pc.createOffer().then(o => pc.setLocalDescription(o)); }} catch (e) {{}}")


def _webrtc_ways(port: int) -> dict[str, str]:
    direct = RTC.format(where="", port=port)
    inner = f"<script>{direct}</script>"  # a page of its own, in a frame the preview adds

    def js(text: str) -> str:
        return json.dumps(text).replace("</", "<\\/")

    return {
        "direct": inner,
        "nested-srcdoc": "<script>const f = document.createElement('iframe'); "
                         f"f.srcdoc = {js(inner)}; document.documentElement.append(f);</script>",
        "nested-markup": f'<iframe srcdoc="{escape(inner, quote=True)}"></iframe>',
        "nested-inner-html": "<div id=d></div><script>document.getElementById('d').innerHTML = "
                             f"{js(chr(60) + 'iframe srcdoc=' + chr(34) + escape(inner, quote=True) + chr(34))}"
                             " + '></iframe>';</script>",
        "nested-window": "<script>const f = document.createElement('iframe'); document.documentElement.append(f);"
                         f" {RTC.format(where='window[0].', port=port)}</script>",
    }


@pytest.mark.parametrize("way", ["direct", "nested-srcdoc", "nested-markup", "nested-inner-html", "nested-window"])
def test_webrtc_cannot_carry_anything_out_of_a_preview(browser, loopback, way):
    """No policy covers WebRTC: the constructors go, and frames the page adds go before they load."""
    listener = _RawListener()
    try:
        page = _webrtc_ways(listener.port)[way]
        _show_frames_then_call_home(browser, loopback, sandbox.frame(f"<!doctype html><body>{page}</body>"),
                                    f"/control-webrtc-{way}")
        assert listener.seen == []
        # The same page with no sandbox does reach the listener: the test sees what it looks for.
        _show_frames_then_call_home(browser, loopback, page, f"/control-webrtc-{way}-open")
        assert listener.seen or way == "nested-window"  # (an about:blank frame's realm is not reachable there)
    finally:
        listener.close()


# --- the app -------------------------------------------------------------------------------------------------

SUITE = "name: hostile\nversion: 1\ncases:\n  - {id: ask, prompt: tell me something}\n"
ALLOWED_TAGS = {
    "div", "p", "span", "a", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "table", "thead", "tbody",
    "tr", "th", "td", "pre", "code", "em", "strong", "s", "del", "blockquote", "hr", "br", "img", "button",
    "math", "mrow", "mi", "mn", "mo", "msup", "msub", "msubsup", "mfrac", "msqrt", "mroot", "mtext", "mspace",
    "mover", "munder", "munderover", "mstyle", "mtable", "mtr", "mtd", "mpadded", "mphantom",
}
# What is inside a rendered answer, as the browser built it.
AUDIT = """(root) => {
  const found = {tags: [], bad: []};
  for (const el of root.querySelectorAll('*')) {
    const tag = el.tagName.toLowerCase();
    found.tags.push(tag);
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      if (name.startsWith('on') || name === 'style' || name === 'srcset' || name === 'poster'
          || name === 'action' || name === 'background' || name === 'formaction')
        found.bad.push(tag + ' ' + name + '=' + attr.value);
      if ((name === 'href' || name === 'xlink:href') && !/^(https?:|mailto:|#)/i.test(attr.value))
        found.bad.push(tag + ' ' + name + '=' + attr.value);
    }
    if (tag === 'img' && !(el.getAttribute('src') || '').startsWith('data:image/'))
      found.bad.push('img src=' + el.getAttribute('src'));
    if (tag === 'button' && !el.classList.contains('arena-copy')) found.bad.push('button ' + el.outerHTML);
    if (tag === 'a' && el.getAttribute('href') && (el.target !== '_blank' || !/noopener/.test(el.rel)))
      found.bad.push('link ' + el.outerHTML);
  }
  return found;
}"""


def _audit(page, selector: str) -> list[str]:
    root = page.locator(selector).first
    root.wait_for()
    found = page.evaluate(AUDIT, root.element_handle())
    assert set(found["tags"]) <= ALLOWED_TAGS, set(found["tags"]) - ALLOWED_TAGS
    assert found["bad"] == []
    return found["tags"]


def _no_hostile_elements_anywhere(page) -> None:
    leaked = page.evaluate("""() => [
        ...document.querySelectorAll('form[action*="hostile"], input[type=password], #overlay, [style*="hostile"],'
          + ' img[src*="hostile"], img[srcset], video[poster], link[href*="hostile"], iframe[src*="hostile"]')
      ].map(el => el.outerHTML)""")
    assert leaked == []
    assert page.evaluate("() => document.title") != "pwned"


@pytest.fixture(scope="module")
def app(tmp_path_factory, loopback):
    folder = tmp_path_factory.mktemp("security-app")
    env = dict(OPENAI_API_KEY=LOOPBACK_KEY, ARENA_DATA_DIR=str(folder / "data"))
    catalog = write_catalog(folder / "catalog.yaml", [
        openai_entry(loopback, "hostile", model="hostile"),
        openai_entry(loopback, "rich", model="rich"),
        openai_entry(loopback, "echo", model="echo"),
    ])
    with environment(**env), running_app(catalog) as (url, engine):
        yield url, engine


def _open(browser, url: str, width: int = 1440, height: int = 1000, dark: bool = False):
    page = browser.new_page(viewport={"width": width, "height": height})
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text)
            if "Content Security Policy" in message.text or message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    response = page.goto(url + ("/?__theme=dark" if dark else "/"))
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    page.wait_for_selector("#arena-run")
    return page, problems


def _only(page, name: str) -> None:
    for box in page.locator("#arena-models input[type=checkbox]").all():
        if box.is_checked():
            box.uncheck()
    page.locator("#arena-models label", has_text=f"{name} ·").click()


def _run(page, prompt: str, done: int = 1) -> None:
    page.fill("#arena-prompt textarea", prompt)
    page.click("#arena-run")
    page.wait_for_function(f"document.querySelectorAll('.arena-pane-foot[data-status=done]').length === {done}",
                           timeout=60_000)


def test_a_hostile_answer_renders_inert_in_compare_follow_ups_gallery_and_suites(browser, app, loopback, tmp_path):
    url, engine = app
    page, _ = _open(browser, url)
    _only(page, "hostile")
    _run(page, "what is new?")
    tags = _audit(page, "#arena-pane-0 .arena-chat")
    assert {"table", "math", "a"} <= set(tags)  # the good parts survive
    body = page.locator("#arena-pane-0 .arena-text.prose")
    assert "[image “chart”: http" in body.inner_text()  # an external picture: a link that says where
    _no_hostile_elements_anywhere(page)

    page.fill("#arena-follow-up textarea", "and then?")
    page.click("#arena-send")
    page.wait_for_function("document.querySelectorAll('#arena-pane-0 .arena-turn-model').length === 2"
                           " && document.querySelector('.arena-pane-foot[data-status=done]')", timeout=60_000)
    _audit(page, "#arena-pane-0 .arena-chat")
    assert page.locator("#arena-pane-0 .arena-turn-user").count() == 2
    _no_hostile_elements_anywhere(page)

    page.get_by_role("tab", name="Gallery").click()
    page.locator("#gallery-grid [data-id]").first.click()  # a card: a picture, or the answer as text
    page.locator("#gallery-record-text", has_text="Session expired").wait_for(timeout=15_000)
    _audit(page, "#gallery-record-text .prose")
    page.frame_locator("#gallery-preview iframe").first.locator("iframe").wait_for(timeout=15_000)
    _no_hostile_elements_anywhere(page)

    suite_path = tmp_path / "hostile.yaml"
    suite_path.write_text(SUITE)
    SuiteRun(engine, load_suite(suite_path), ["hostile"]).run()
    page.reload()
    page.get_by_role("tab", name="Suites").click()
    page.locator("#suite-matrix [data-cell*='|ask|hostile|']").click(timeout=30_000)  # the latest run opens
    page.locator("#suite-cell-text", has_text="Session expired").wait_for(timeout=15_000)
    _audit(page, "#suite-cell-text .prose")
    _no_hostile_elements_anywhere(page)

    page.wait_for_timeout(1000)  # let anything that would load have its chance
    assert _outside(loopback, "/hostile/") == []
    page.close()


@pytest.mark.parametrize("size, dark", [((1440, 1000), False), ((390, 844), False), ((1440, 1000), True)])
def test_a_chat_with_a_table_and_latex_reads_well_and_breaks_no_policy(browser, app, size, dark):
    url, _ = app
    page, problems = _open(browser, url, *size, dark=dark)
    _only(page, "rich")
    _run(page, "how did the runs go?")
    page.fill("#arena-follow-up textarea", "and which approach is best?")
    page.click("#arena-send")
    page.wait_for_function("document.querySelectorAll('#arena-pane-0 .arena-turn-model').length === 2"
                           " && document.querySelector('.arena-pane-foot[data-status=done]')", timeout=60_000)
    pane = page.locator("#arena-pane-0")
    assert pane.locator("math").count() >= 4
    # The answer box followed the stream to its end, and keeps its own scroll position across updates.
    assert page.evaluate("(box) => box.scrollHeight > box.clientHeight"
                         " && box.scrollTop + box.clientHeight >= box.scrollHeight - 30",
                         pane.locator(".prose.arena-text").element_handle())
    table_box = pane.locator(".arena-table").first
    fits = page.evaluate("(box) => box.scrollWidth <= box.clientWidth || getComputedStyle(box).overflowX === 'auto'",
                         table_box.element_handle())
    assert fits
    # The table scrolls in its own box; no cell breaks a word in the middle.
    pane_width = page.evaluate("(el) => el.getBoundingClientRect().width", pane.element_handle())
    table_width = page.evaluate("(el) => el.getBoundingClientRect().width", table_box.element_handle())
    assert table_width <= pane_width
    # The copy button sits below the answer, covering none of its text.
    first_line = pane.locator(".arena-turn-model .arena-md").first.bounding_box()
    button = pane.locator(".arena-copy").first.bounding_box()
    assert button["y"] >= first_line["y"] + first_line["height"] - 1
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    pane.locator(".arena-copy").last.click()
    pane.locator(".arena-copy", has_text="Copied").wait_for(timeout=5_000)
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert "```python\ndef mean(values):" in copied and "| approach |" in copied  # the Markdown as written
    name = f"pane-chat-{size[0]}x{size[1]}{'-dark' if dark else ''}.png"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    pane.screenshot(path=str(ARTIFACTS / ("only-" + name)))
    page.get_by_role("tab", name="Gallery").click()
    page.get_by_role("tab", name="Suites").click()
    page.wait_for_timeout(500)
    assert problems == []
    page.close()


def test_what_a_person_typed_comes_back_in_an_error_as_text_not_markup(browser, app):
    url, _ = app
    page, _ = _open(browser, url)
    _only(page, "echo")
    _run(page, "hello")  # the page has settled: what is typed next stays typed
    field = page.locator("#arena-temperature textarea, #arena-temperature input")
    open_panel(page, "#arena-params > button", "#arena-temperature")
    typed = '<b id="typed">x</b>'
    field.fill(typed)
    assert field.input_value() == typed
    page.click("#arena-run")
    page.locator("#arena-message", has_text="Cannot run").wait_for(timeout=30_000)
    assert typed in page.locator("#arena-message").inner_text()  # shown as the characters typed
    assert page.locator("#typed").count() == 0  # nowhere made into an element
    page.close()
