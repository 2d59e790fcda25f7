"""``python -m arena users add|remove|list``: who may sign in to the web app (arena.users)."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from arena.cli.common import CliError
from arena.settings import Settings
from arena.users import UsersFile, check_name, default_file
from arena.wording import counted


def add_commands(commands) -> None:
    users = commands.add_parser("users", help="who may sign in to the web app").add_subparsers(dest="action",
                                                                                              required=True)
    add = users.add_parser("add", help="add a user, or give one a new password (asked for, or read from stdin)")
    add.add_argument("name")
    add.add_argument("--vote-cap", type=int, help="the most battle votes this user may cast a day "
                                                  "(default: ARENA_VOTE_CAP_PER_DAY)")
    remove = users.add_parser("remove", help="take a user out: they can no longer sign in")
    remove.add_argument("name")
    listing = users.add_parser("list", help="the users and their vote caps")
    for sub in (add, remove, listing):
        sub.add_argument("--file", type=Path, help="the users file (default: ARENA_USERS_FILE, else "
                                                   "DATA_DIR/users.toml)")


def run_command(args: argparse.Namespace, settings: Settings) -> int:
    users = UsersFile(args.file or default_file(settings.data_dir))
    if args.action == "list":
        listed = users.users()
        for user in sorted(listed.values(), key=lambda u: u.name):
            cap = f"{user.vote_cap} votes a day" if user.vote_cap else f"{settings.vote_cap_per_day} votes a day " \
                                                                     "(the default)"
            print(f"{user.name:<24} {cap}")
        print(f"{counted(len(listed), 'user')} in {users.path}", file=sys.stderr)
        return 0
    name = check_name(args.name)
    if args.action == "remove":
        users.remove(name)
        print(f"removed {name} from {users.path}", file=sys.stderr)
        return 0
    new = users.add(name, read_password(name), args.vote_cap)
    print(f"{'added' if new else 'new password for'} {name} in {users.path}", file=sys.stderr)
    return 0


def read_password(name: str) -> str:
    """Typed twice at a terminal (not echoed); else the first line of stdin. Never from the command line."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    try:
        password = getpass.getpass(f"Password for {name}: ")
        if getpass.getpass("The same again: ") != password:
            raise CliError("the two passwords differ; nothing changed")
    except (EOFError, KeyboardInterrupt):
        raise CliError("no password given; nothing changed") from None
    return password
