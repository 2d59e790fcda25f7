"""What every command shares: its one way to report an error, and loading the settings, catalog, store and engine."""

from __future__ import annotations

import argparse
import atexit
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from arena import api_keys
from arena.settings import Settings

if TYPE_CHECKING:
    from arena.catalog import Catalog
    from arena.engine import Engine
    from arena.store import Store


class CliError(Exception):
    """A sentence for the user; ``main`` prints it as ``arena: …`` and exits with ``code``."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


def say(message: str) -> None:
    """A line about the command itself (an error, a stop) on stderr, apart from its output on stdout."""
    print(f"arena: {message}", file=sys.stderr)


INTERRUPTED = 130  # how a command stopped by Ctrl-C ends, as shells report one killed by SIGINT (128 + 2)


def interrupted(what: str = "") -> int:
    """Say in one line that Ctrl-C stopped the command (and what became of its work); the exit code to end with."""
    say("interrupted" + (f"; {what}" if what else ""))
    return INTERRUPTED


def load_settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env(catalog=args.catalog, data_dir=args.data_dir)
    api_keys.load_env_files(settings.data_dir)
    return settings


def load_catalog(settings: Settings) -> Catalog:
    from arena.catalog import Catalog

    return Catalog.load(settings.catalog)


def open_store(settings: Settings, keep_outputs: bool = True) -> Store | None:
    """The gallery's store, or None where outputs are not kept (``--no-save``, ARENA_SAVE_OUTPUTS=0)."""
    from arena.store import open_store

    return open_store(settings) if keep_outputs and settings.save_outputs else None


@contextmanager
def open_engine(catalog: Catalog, settings: Settings, store: Store | None) -> Iterator[Engine]:
    from arena.engine import Engine

    engine = Engine(catalog, settings, store)
    try:
        yield engine
    finally:
        engine.close()


def load_picture(path: Path, settings: Settings):
    """An input image from the shell, held to the same limits as an upload."""
    from arena import images
    from arena.errors import InputError

    if not path.is_file():
        raise InputError(f"No image file at {path}.")
    return images.load_image(path, max_bytes=settings.max_upload_bytes, max_pixels=settings.max_pixels)


_BOUNDS = {"greater_than_equal": ("at least", "ge"), "greater_than": ("more than", "gt"),
           "less_than_equal": ("at most", "le"), "less_than": ("less than", "lt")}


def generation_params(flags: dict[str, object], size_flag: str | None = None):
    """GenerationParams from command-line flags (``{"seed": -5}``); a value out of bounds raises InputError naming
    the flag and its bound, "--seed must be at least 0, not -5" (width and height are said as ``size_flag``)."""
    from pydantic import ValidationError

    from arena.errors import InputError
    from arena.request import GenerationParams

    given = {name: value for name, value in flags.items() if value is not None}
    for name, value in given.items():
        try:
            GenerationParams.model_validate({name: value})
        except ValidationError as error:
            problem = error.errors()[0]
            flag = size_flag if size_flag and name in ("width", "height") else f"--{name.replace('_', '-')}"
            subject = f"{flag}'s {name}" if flag == size_flag else flag
            words, key = _BOUNDS.get(problem["type"], (None, None))
            if problem["type"] == "finite_number":
                raise InputError(f"{subject} must be a finite number, not {value}.") from None
            if words is None:
                raise InputError(f"{subject} is not valid: {problem['msg']} (got {value!r}).") from None
            bound = (problem.get("ctx") or {}).get(key)
            bound = int(bound) if isinstance(bound, float) and bound.is_integer() else bound
            shown = f"{value:g}" if isinstance(value, float) else value
            raise InputError(f"{subject} must be {words} {bound}, not {shown}.") from None
    return GenerationParams.parse(given)


def exit_without_teardown(code: int) -> NoReturn:
    """End the process as ``sys.exit(code)`` would (exit handlers run, output flushed), minus the interpreter's
    teardown: freeing every object of every module takes ~0.3 s once an SDK is loaded, and nothing needs it.
    Where another thread is still working, the ordinary exit waits for it."""
    if any(t.is_alive() and not t.daemon and t is not threading.main_thread() for t in threading.enumerate()):
        sys.exit(code)
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        code = code or 120  # what Python exits with when it cannot flush stdout
    os._exit(code)
