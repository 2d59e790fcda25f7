"""``python -m arena`` (or ``arena``): the same engine as the web app, from the shell.

    arena models
    arena pull smolvlm-256m sd-turbo
    arena compare "a charming spider at work" --models offline-pixtral,offline-sd --out out/
    arena chain describe-draw "a charming spider at work" --describe offline-pixtral --draw offline-sd
    arena serve --port 7860

One module per command group; each adds its commands to the parser and runs them. A command reports a problem
by raising CliError (or InputError / CatalogError for bad input), which ``main`` says in one line. Ctrl-C ends every
command with exit code 130 and one line, "arena: interrupted…": a command that keeps what finished says so itself.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from arena.catalog import CatalogError
from arena.cli.common import INTERRUPTED, CliError, exit_without_teardown, interrupted, load_catalog, load_settings, say
from arena.errors import InputError, StorageError, path_problem

GROUPS = ("compare", "pull", "gallery", "suite", "chain", "battle", "serve", "users", "store")
# Commands whose module adds only that command: run alone, the other groups (and what they import) are not loaded.
ALONE = ("pull", "suite", "users")


GLOBAL_OPTIONS = {
    "--catalog": "models catalog YAML (default: ARENA_CATALOG, else the built-in one)",
    "--data-dir": "data folder (default: ARENA_DATA_DIR, else ~/.arena)",
    "--database-url": "the gallery's database, e.g. postgresql://arena@db/arena (default: ARENA_DATABASE_URL, else "
                      "the SQLite file in the data folder)",
}


def build_parser(prog: str = "python -m arena", only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Compare multimodal models side by side.")
    for option, said in GLOBAL_OPTIONS.items():
        parser.add_argument(option, help=said)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in (only,) if only in ALONE else GROUPS:
        _group(name).add_commands(commands)
    for name, command in commands.choices.items():
        if name != "serve":  # serve hands its options to the web app's own parser
            _take_global_options(command)
    return parser


def _take_global_options(parser: argparse.ArgumentParser) -> None:
    """The global options after a command's name as well (``compare … --catalog FILE``); given there, they win."""
    for option, said in GLOBAL_OPTIONS.items():
        parser.add_argument(option, help=said, default=argparse.SUPPRESS)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in action.choices.values():
                _take_global_options(command)


def _group(name: str):
    return importlib.import_module(f"arena.cli.{name}")


def _command_in(argv: list[str]) -> str | None:
    """The command word of a command line (the first word that is neither an option nor an option's value)."""
    words = iter(argv)
    for word in words:
        if word in GLOBAL_OPTIONS:
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the command in ``argv``; with none, the process's own command line, and then end the process."""
    if argv is None and _command_in(sys.argv[1:]) != "serve":
        _without_trio()
    try:
        code = _main(argv)
    except KeyboardInterrupt:  # Ctrl-C where no command keeps what it had done: before or between its steps
        code = interrupted()
    if argv is None:
        exit_without_teardown(code)
    return code


def _without_trio() -> None:
    """httpcore (under the openai SDK and huggingface_hub) imports trio whenever it is installed, in case it runs
    under trio's event loop: 0.06 s of the start of every command that makes a request. No command but ``serve``
    runs an event loop, and that one is asyncio; trio is not among Arena's requirements, so it counts as absent."""
    sys.modules.setdefault("trio", None)


def _main(argv: list[str] | None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser(_prog(), only=_command_in(sys.argv[1:] if argv is None else argv))
    args, rest = parser.parse_known_args(argv)
    if args.command == "serve":
        args.prog = parser.prog
        with _noting_ctrl_c() as noted:  # the web app says its own line when Ctrl-C stops it
            code = _group("serve").run_command(args, rest)
        return INTERRUPTED if noted else code
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        return _run(args)
    except (CliError, InputError, CatalogError, StorageError) as error:
        say(str(error))
        return getattr(error, "code", 2)
    except BrokenPipeError:  # the reader went away (`… | head`): what is left to print goes nowhere
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as error:  # an --out, --file or data folder that cannot be written
        if (said := path_problem(error)) is None:
            raise
        say(said)
        return 1


@contextmanager
def _noting_ctrl_c() -> Iterator[list]:
    """A list that gets an item when Ctrl-C comes (then KeyboardInterrupt is raised as ever), for a command that
    catches the interrupt itself yet should end as an interrupted command does."""
    noted: list = []

    def note(signum, frame):
        noted.append(signum)
        signal.default_int_handler(signum, frame)

    try:
        previous = signal.signal(signal.SIGINT, note)
    except ValueError:  # not the main thread (main called from a test's thread): nothing to note
        previous = None
    try:
        yield noted
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _run(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    if args.database_url:
        settings.database_url = args.database_url
    if args.command in ("gallery", "battle", "users", "store"):
        return _group(args.command).run_command(args, settings)
    if args.command == "suite" and args.action == "show":
        return _group("suite").run_command(args, None, settings)
    catalog = load_catalog(settings)
    group = args.command if args.command in ("suite", "chain", "pull") else "compare"
    return _group(group).run_command(args, catalog, settings)


def _prog() -> str:
    """``arena`` when run as the console script, else ``python -m arena``, so usage lines read as typed."""
    return "arena" if Path(sys.argv[0]).name == "arena" else "python -m arena"
