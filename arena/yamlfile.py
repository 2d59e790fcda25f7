"""Reading the project's YAML files (catalogs, suites) with errors that name the file."""

from __future__ import annotations

from pathlib import Path

import yaml


def read_mapping(path: Path, error: type[Exception], what: str) -> dict:
    """The YAML mapping in ``path``, or ``error`` saying why not (unreadable, not YAML, not a mapping)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as failure:
        raise error(f"cannot read {path}: {failure.strerror or failure}") from None
    except yaml.YAMLError as failure:
        raise error(f"{path} is not valid YAML: {failure}") from None
    if not isinstance(document, dict):
        raise error(f"{path}: expected a mapping with {what}")
    return document
