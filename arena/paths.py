"""Where Arena's own files lie; the one place that knows, so no other module works out paths from its own file.

The built-in catalog is package data (found with importlib.resources). ``assets/`` (example pictures, suite images)
and ``prompts/`` (the seed suites) are the product's top-level folders, beside the package in the checkout that
``python app.py`` and ``pip install -e .`` run from.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

PACKAGE_DIR = Path(str(files("arena"))).resolve()
DEFAULT_CATALOG = PACKAGE_DIR / "default_catalog.yaml"
PROJECT_DIR = PACKAGE_DIR.parent
ASSETS = PROJECT_DIR / "assets"
PROMPTS = PROJECT_DIR / "prompts"
