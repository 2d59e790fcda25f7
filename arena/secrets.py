"""API keys: read from the environment or a .env file, never stored, never shown."""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path
from typing import Callable

from dotenv import load_dotenv

# Environment variables whose values must never appear in anything Arena writes or shows.
_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|AUTH)", re.IGNORECASE)


def load_env_files(*folders: Path) -> None:
    """Load KEY=value lines from .env in the working folder and the given folders; the environment wins."""
    for folder in (Path.cwd(), *folders):
        env_file = Path(folder).expanduser() / ".env"
        if env_file.is_file():
            load_dotenv(env_file, override=False)


def api_key(variable: str) -> str | None:
    value = os.environ.get(variable, "").strip()
    return value or None


@cache
def _secret_name(name: str) -> bool:
    return _SECRET_NAME.search(name) is not None


_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._\-]{8,}")


def scrubber() -> Callable[[str], str]:
    """A function that replaces, in a text, the value of every secret-looking environment variable (as they are
    now) and any bearer token by ***; one per record saved, so that the environment is read once."""
    values = [value for name, value in os.environ.items() if _secret_name(name) and len(value) >= 8]

    def clean(text: str) -> str:
        for value in values:
            if value in text:
                text = text.replace(value, "***")
        return _BEARER.sub(r"\1***", text)

    return clean


def scrub(text: str) -> str:
    return scrubber()(text)
