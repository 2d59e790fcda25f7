"""``arena serve``: the web app, with the options of ``python app.py`` (see ``arena serve --help``)."""

from __future__ import annotations

import argparse


def add_commands(commands) -> None:
    # The options are the web app's own (arena.web.parse_args): main hands them over unparsed.
    commands.add_parser("serve", add_help=False, help="start the web app, as `python app.py` does "
                        "(see `serve --help`)")


def run_command(args: argparse.Namespace, options: list[str]) -> int:
    from arena import web

    given = [*(["--catalog", args.catalog] if args.catalog else []),
             *(["--data-dir", args.data_dir] if args.data_dir else []),
             *(["--database-url", args.database_url] if args.database_url else [])]
    web.main([*given, *options], prog=f"{args.prog} serve")
    return 0
