"""API keys: read from the environment or a .env file, never stored, never shown.

What counts as a secret, to be scrubbed from everything Arena writes or shows (the database, exports, reports,
CLI files, logs, the page):

- the value of every variable a catalog entry names in ``api_key_env``, whatever it is called;
- the value of every variable whose name says secret (KEY, TOKEN, SECRET, PASSWORD, AUTH);
- every value read from a ``.env`` file;
- any fragment of FRAGMENT or more characters of one of the keys above (a provider echoing half a key);
- bearer tokens.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from functools import cache, lru_cache
from pathlib import Path
from typing import Callable, Iterable

import re2
from dotenv import dotenv_values, load_dotenv

# Environment variables whose values must never appear in anything Arena writes or shows.
_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|AUTH)", re.IGNORECASE)
# Shorter values are scrubbed only whole; a key's fragments this long or longer are scrubbed wherever they appear.
FRAGMENT = 8
MASK = "***"

_lock = threading.Lock()
_named: set[str] = {"OPENAI_API_KEY", "MISTRAL_API_KEY"}  # variables catalog entries name as holding a key
_file_values: set[str] = set()  # every value read from a .env file


def treat_as_secret(names: Iterable[str]) -> None:
    """Scrub the values of these environment variables (and their fragments) from now on."""
    with _lock:
        _named.update(names)


def load_env_files(*folders: Path) -> None:
    """Load KEY=value lines from .env in the working folder and the given folders; the environment wins.

    Every value read is scrubbed from then on, and so are log messages (whichever logger writes them)."""
    for folder in (Path.cwd(), *folders):
        env_file = Path(folder).expanduser() / ".env"
        if env_file.is_file():
            values = dotenv_values(env_file)
            with _lock:
                _file_values.update(v.strip() for v in values.values() if v and len(v.strip()) >= FRAGMENT)
            load_dotenv(env_file, override=False)
    guard_logs()


def api_key(variable: str) -> str | None:
    value = os.environ.get(variable, "").strip()
    return value or None


@cache
def _secret_name(name: str) -> bool:
    return _SECRET_NAME.search(name) is not None


_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._\-]{8,}")


def scrubber() -> Callable[[str], str]:
    """A function that removes every secret (see the module's doc) as the environment holds them now; one per
    record saved, so that the environment is read once."""
    with _lock:
        named = set(_named)
        whole = set(_file_values)
    keys = {value.strip() for name, value in os.environ.items()
            if (name in named or _secret_name(name)) and len(value.strip()) >= FRAGMENT}
    return _scrubber(frozenset(keys), frozenset(whole | keys))


@lru_cache(maxsize=8)
def _scrubber(keys: frozenset[str], whole: frozenset[str]) -> Callable[[str], str]:
    longest_first = sorted(whole, key=len, reverse=True)
    pieces = {key[i:i + FRAGMENT] for key in keys for i in range(len(key) - FRAGMENT + 1)}
    # RE2 finds any of the pieces in one linear pass, however many keys there are.
    finder = re2.compile("|".join(re2.escape(p) for p in sorted(pieces))) if pieces else None

    def clean(text: str) -> str:
        if not text:
            return text
        for value in longest_first:
            if value in text:
                text = text.replace(value, MASK)
        if finder is not None:
            text = _mask_fragments(text, finder, pieces)
        return _BEARER.sub(r"\1" + MASK, text)

    return clean


def _mask_fragments(text: str, finder, pieces: set[str]) -> str:
    """Replace each run of text made of overlapping key pieces (a key fragment of FRAGMENT+ characters) by MASK."""
    parts: list[str] = []
    position = 0
    while (match := finder.search(text, position)) is not None:
        start, end = match.start(), match.end()
        probe = start + 1
        while probe <= end and probe + FRAGMENT <= len(text):
            if text[probe:probe + FRAGMENT] in pieces:
                end = probe + FRAGMENT
            probe += 1
        parts += [text[position:start], MASK]
        position = end
    if not parts:
        return text
    parts.append(text[position:])
    return "".join(parts)


def scrub(text: str) -> str:
    return scrubber()(text)


_guarded = False


def guard_logs() -> None:
    """Scrub secrets from every log record as it is made, whatever library logs it."""
    global _guarded
    with _lock:
        if _guarded:
            return
        _guarded = True
    make_record = logging.getLogRecordFactory()

    def scrubbed_record(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call: leave it to logging to report
            return record
        record.msg, record.args = scrub(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(scrubbed_record)
