"""``python -m arena users add|remove|list``: who may sign in to the web app (arena.users)."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from arena.cli.common import INTERRUPTED, CliError
from arena.settings import Settings
from arena.users import FILE_NAME, UsersFile, check_name, default_file
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
    path = args.file or default_file(settings.data_dir)
    users = UsersFile(path)
    _check_place(users.path, args.action, named=path != Path(settings.data_dir).expanduser() / FILE_NAME)
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
    existed = users.path.exists()
    new = users.add(name, read_password(name), args.vote_cap)
    print(f"{'added' if new else 'new password for'} {name} in {'' if existed else 'a new users file, '}"
          f"{users.path}", file=sys.stderr)
    return 0


def _check_place(path: Path, action: str, named: bool) -> None:
    """A users file that is not there is said as such: listing or removing from it reads nothing, and adding to a
    file named (--file, ARENA_USERS_FILE) in a folder that does not exist makes no folders for a typo."""
    if path.is_dir():
        raise CliError(f"{path} is a folder, not a users file (e.g. {path / FILE_NAME})", code=1)
    if action == "add":
        if named and not path.parent.is_dir():
            raise CliError(f"no folder {path.parent} for the users file {path}: make it first, or check the path",
                           code=1)
        return
    if path.exists():
        return
    if named and not path.parent.is_dir():
        raise CliError(f"no users file at {path}, nor its folder {path.parent}", code=1)
    raise CliError(f"no users file at {path}: `python -m arena users add NAME{f' --file {path}' if named else ''}` "
                   "makes it", code=1)


def read_password(name: str) -> str:
    """Typed twice at a terminal (not echoed); else the first line of stdin. Never from the command line."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    try:
        password = getpass.getpass(f"Password for {name}: ")
        if getpass.getpass("The same again: ") != password:
            raise CliError("the two passwords differ; nothing changed")
    except EOFError:
        raise CliError("no password given; nothing changed") from None
    except KeyboardInterrupt:
        raise CliError("interrupted; no password given, nothing changed", code=INTERRUPTED) from None
    return password
