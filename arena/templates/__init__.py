"""The HTML pages and fragments Arena writes, as Jinja2 templates (``*.html.j2`` beside this file).

Autoescaping is on: every value a template prints is escaped unless it is ``Markup``. Model text becomes markup
in one way only, the ``markdown`` filter, which passes it through arena.render's allowlist first.
"""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup


def _markdown(text: str) -> Markup:
    from arena.render import markdown_html  # Markdown and LaTeX parsers: only once an answer is shown

    return Markup(markdown_html(text or ""))


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=PackageLoader("arena", "templates"), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["markdown"] = _markdown
    return env


def render(name: str, **context) -> str:
    """The template ``name`` filled with ``context``."""
    return environment().get_template(name).render(**context)


def macro(name: str, template: str):
    """A macro of a template, callable from Python; it returns Markup."""
    return getattr(environment().get_template(template).module, name)
