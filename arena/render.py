"""Model text on a page: Markdown (with LaTeX) made into HTML that keeps only what Markdown needs.

A model's answer is untrusted input. It is parsed by markdown-it with raw HTML off (HTML a model writes is shown
as text, as chat apps do), LaTeX becomes MathML on the server (latex2mathml), and the result still goes through
an allowlist sanitiser (nh3, i.e. ammonia) as a second wall, which ``clean`` also applies to any HTML: headings,
paragraphs, lists, tables, code, emphasis, quotes, rules, links and MathML stay; forms, inputs, buttons, frames,
``style`` (attributes and elements), event handlers, classes and ids go. Nothing in the result loads from the
network: a picture is kept only as a ``data:`` URL, any other becomes a link that says where it would go
("[image: https://…]") and needs a click. Links open in a new tab with ``rel="noopener noreferrer"``, and only
``http:``, ``https:`` and ``mailto:`` links survive.
"""

from __future__ import annotations

import re
from functools import lru_cache
from html import escape, unescape

import nh3
from latex2mathml.converter import convert as latex_to_mathml
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.texmath import texmath_plugin

MAX_CHARS = 200_000  # past this, an answer is shown as plain text (Markdown costs up to ~10 µs a character)
MAX_FORMULA_CHARS = 4_000

_HTML_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "dfn", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q",
    "s", "samp", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "u", "ul", "var",
}
# MathML Core presentation elements, as latex2mathml writes them; no <semantics>/<annotation-xml> (HTML inside).
_MATH_TAGS = {
    "math", "mi", "mn", "mo", "ms", "mtext", "mspace", "mrow", "mfrac", "msqrt", "mroot", "mstyle", "merror",
    "mpadded", "mphantom", "msub", "msup", "msubsup", "munder", "mover", "munderover", "mmultiscripts",
    "mprescripts", "none", "mtable", "mtr", "mtd", "menclose",
}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "abbr": {"title"},
    "ol": {"start"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "math": {"display"},
    "mo": {"stretchy", "fence", "separator", "form", "largeop", "movablelimits", "accent", "lspace", "rspace",
           "symmetric", "minsize", "maxsize"},
    "mfrac": {"linethickness"},
    "mspace": {"width", "height", "depth"},
    "mpadded": {"width", "height", "depth", "lspace", "voffset"},
    "mtable": {"columnalign", "rowalign", "columnspacing", "rowspacing", "columnlines", "rowlines", "frame"},
    "mtd": {"columnalign", "rowalign", "columnspan", "rowspan"},
    "mtr": {"columnalign", "rowalign"},
    "mstyle": {"displaystyle", "scriptlevel", "mathvariant"},
    "mi": {"mathvariant"},
    "mover": {"accent"},
    "munder": {"accentunder"},
    "munderover": {"accent", "accentunder"},
    "menclose": {"notation"},
}
_ALLOWED_CLASSES = {"code": None, "a": {"arena-image-link"}}  # code: language-* (see _attribute)
_LINK_SCHEMES = {"http", "https", "mailto"}
_PICTURE = re.compile(r"data:image/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]+\Z", re.IGNORECASE)
_LANGUAGE = re.compile(r"language-[\w+#.-]{1,40}\Z")
# nh3 writes every attribute as name="value" with " escaped, so this reads its own output exactly.
_IMG = re.compile(r'<img((?:\s+[\w:-]+="[^"]*")*)\s*/?>')
_ATTR = re.compile(r'([\w:-]+)="([^"]*)"')


def _attribute(tag: str, name: str, value: str) -> str | None:
    if tag == "a" and name == "href":
        scheme = value.split(":", 1)[0].strip().lower() if ":" in value else ""
        return value if scheme in _LINK_SCHEMES or (not scheme and value.startswith("#")) else None
    if tag == "img" and name == "src":
        return value if _PICTURE.match(value.strip()) or value.lower().startswith(("http:", "https:")) else None
    if tag == "code" and name == "class":
        return value if _LANGUAGE.match(value) else None
    if tag == "a" and name == "class":
        return value if value == "arena-image-link" else None
    return value


def _cleaner(with_remote_pictures: bool) -> nh3.Cleaner:
    def attribute(tag: str, name: str, value: str) -> str | None:
        kept = _attribute(tag, name, value)
        if kept is not None and tag == "img" and name == "src" and not with_remote_pictures \
                and not _PICTURE.match(kept.strip()):
            return None
        return kept

    attributes = {tag: set(names) for tag, names in _ATTRIBUTES.items()}
    attributes["code"] = {"class"}
    attributes["a"] = {"href", "title", "class"}
    return nh3.Cleaner(
        tags=_HTML_TAGS | _MATH_TAGS,
        clean_content_tags={"script", "style", "template", "textarea", "select", "noscript", "iframe", "object",
                            "svg", "title"},
        attributes=attributes,
        attribute_filter=attribute,
        url_schemes=_LINK_SCHEMES | {"data"},
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        strip_comments=True,
    )


# First pass: everything normalised, pictures still where they were; second: only data: pictures left.
_FIRST = _cleaner(with_remote_pictures=True)
_FINAL = _cleaner(with_remote_pictures=False)


@lru_cache(maxsize=1024)  # an answer is rendered again at every frame while it streams
def _math(latex: str, display: bool) -> str:
    latex = latex.strip()
    try:
        if len(latex) > MAX_FORMULA_CHARS:
            raise ValueError("formula too long")
        return latex_to_mathml(latex, display="block" if display else "inline")
    except Exception:  # latex2mathml raises many kinds on input it cannot read: show the source instead
        source = f"<code>{escape(latex)}</code>"
        return f"<pre>{source}</pre>" if display else source


def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    parser.enable(["table", "strikethrough"])
    # $…$ and $$…$$ (not "$5 and $10": no space or digit next to the dollar), and \( … \) / \[ … \].
    dollarmath_plugin(parser, allow_space=False, allow_digits=False, double_inline=True)
    texmath_plugin(parser, delimiters="brackets")
    for rule, display in (("math_inline", False), ("math_inline_double", True), ("math_block", True),
                          ("math_block_label", True), ("math_block_eqno", True)):
        parser.add_render_rule(rule, lambda self, tokens, idx, options, env, d=display: _math(tokens[idx].content, d))
    return parser


_MARKDOWN = _parser()


def _picture(match: re.Match) -> str:
    found = dict(_ATTR.findall(match.group(1)))
    src, alt = unescape(found.get("src", "")), unescape(found.get("alt", ""))
    if _PICTURE.match(src.strip()):
        return f'<img src="{escape(src)}" alt="{escape(alt)}">'
    if not src:
        return escape(f"[image: {alt}]") if alt else "[image]"
    label = f"[image: {src}]" if not alt else f"[image “{alt}”: {src}]"
    return (f'<a class="arena-image-link" href="{escape(src)}" title="opens {escape(src)} in a new tab">'
            f"{escape(label)}</a>")


def _wrap_tables(html: str) -> str:
    # Tables scroll sideways in their own box instead of squeezing or overflowing the pane.
    return html.replace("<table>", '<div class="arena-table"><table>').replace("</table>", "</table></div>")


@lru_cache(maxsize=512)
def markdown_html(text: str) -> str:
    """``text`` (Markdown from a model) as safe HTML: see the module's docstring for what is kept."""
    text = str(text or "")
    if len(text) > MAX_CHARS:
        return plain_html(text)
    return clean(_MARKDOWN.render(text))


def streaming_html(text: str) -> str:
    """``markdown_html`` for an answer still growing: the finished blocks are rendered once (and cached), only the
    last one again at each frame. Close to the whole render; the finished answer gets the whole render."""
    cut = _stable_cut(text)
    if cut <= 0:
        return markdown_html(text)
    return markdown_html(text[:cut]) + markdown_html(text[cut:])


_BLOCK_GAP = re.compile(r"\n[ \t]*\n(?=\S)")
_FENCE = re.compile(r"^[ \t]{0,3}(```|~~~)", re.MULTILINE)
_CONTINUES = re.compile(r"[-*+>|]|\d{1,9}[.)]|\[")


def _stable_cut(text: str) -> int:
    """Where the finished blocks end: the last blank line outside code fences and $$ blocks, before a line that
    does not continue a list, quote or table (or the link definitions a whole render would see)."""
    for gap in reversed(list(_BLOCK_GAP.finditer(text, 0, max(0, len(text) - 1)))):
        head = text[:gap.end()]
        if len(_FENCE.findall(head)) % 2 or head.count("$$") % 2 or _CONTINUES.match(text, gap.end()):
            continue
        return gap.end()
    return 0


def clean(html: str) -> str:
    """Any HTML through the allowlist; a picture that is not a data: URL becomes a link saying where it goes."""
    first = _FIRST.clean(html)
    return _wrap_tables(_FINAL.clean(_IMG.sub(_picture, first)))


def plain_html(text: str) -> str:
    """Text shown as written (a user's message): escaped, line breaks kept by the ``arena-plain`` class."""
    return f'<div class="arena-plain">{escape(str(text or ""))}</div>'
