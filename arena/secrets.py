"""API keys: read from the environment or a .env file, never stored, never shown."""

from __future__ import annotations

import os
import re
from pathlib import Path

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


def scrub(text: str) -> str:
    """``text`` with the value of every secret-looking environment variable replaced by ***."""
    for name, value in os.environ.items():
        if len(value) >= 8 and _SECRET_NAME.search(name) and value in text:
            text = text.replace(value, "***")
    return re.sub(r"(Bearer\s+)[A-Za-z0-9._\-]{8,}", r"\1***", text)
