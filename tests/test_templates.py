"""The HTML templates (arena/templates): one base page, escaping that cannot be turned off, shipped with the
package."""

from __future__ import annotations

import fnmatch
import re
import tomllib

from arena.templates import environment
from tests.conftest import ROOT


def test_the_gallery_export_and_the_sweep_grid_share_one_page():
    for name in ("gallery_export.html.j2", "sweep_grid.html.j2", "suite_report.html.j2"):
        source = environment().loader.get_source(environment(), name)[0]
        assert '{% extends "page.html.j2" %}' in source, name
    assert environment().autoescape is True


def test_templates_escape_everything_and_ship_with_the_package():
    templates = sorted((ROOT / "arena" / "templates").glob("*.j2"))
    for template in templates:
        source = template.read_text(encoding="utf-8")
        assert not re.search(r"\|\s*safe\b|autoescape", source), template.name  # no way around escaping
    shipped = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"]["arena.templates"]
    assert templates and all(any(fnmatch.fnmatch(t.name, glob) for glob in shipped) for t in templates)
