"""``python -m arena store copy --from URL --to URL``: move an Arena's gallery, suite runs and votes (and its
pictures) into another database and picture storage, e.g. a laptop's SQLite file into a team's PostgreSQL server.
Pictures go first, then rows; what the target has already is kept, so an interrupted copy is run again to finish.

``python -m arena store migrate``: bring the database's tables up to this Arena's version before replicas start
(each replica would do it at start; this does it once, and says what it did).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from arena.cli.common import CliError
from arena.settings import Settings
from arena.wording import counted


def add_commands(commands) -> None:
    store = commands.add_parser("store", help="the gallery's database and pictures").add_subparsers(
        dest="action", required=True)
    copy = store.add_parser("copy", help="copy every record and picture into another database (resumable)")
    copy.add_argument("--from", dest="source", required=True, metavar="URL",
                      help="the database to copy: sqlite:///~/.arena/arena.db or postgresql://USER@HOST/NAME")
    copy.add_argument("--to", dest="target", required=True, metavar="URL", help="the database to copy into")
    copy.add_argument("--from-data-dir", type=Path, help="the source's data folder, where its pictures are "
                      "(default: the SQLite file's folder, else the data folder)")
    copy.add_argument("--to-data-dir", type=Path, help="the target's data folder (default: the data folder)")
    copy.add_argument("--from-storage", choices=("local", "s3"), default="local",
                      help="where the source's pictures are (default local: the source data folder)")
    copy.add_argument("--to-storage", choices=("local", "s3"),
                      help="where the target's pictures go (default: ARENA_STORAGE, else local; s3 reads ARENA_S3_*)")
    store.add_parser("migrate", help="bring the database's tables up to this Arena's version (--database-url, "
                     "else the data folder's arena.db)")


def run_command(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "migrate":
        return _migrate(settings)
    return _copy(args, settings)


def _migrate(settings: Settings) -> int:
    from arena.store.database import Database
    from arena.store.schema import MIGRATIONS

    database = Database(settings.data_dir, settings.database_url)
    try:
        where = database.server.name if database.server else str(database.db_path)
        done = (f"applied {counted(database.migrations_applied, 'migration')}" if database.migrations_applied
                else "nothing to apply")
        print(f"{where}: schema {len(MIGRATIONS)}, {done}")
    finally:
        database.close()
    return 0


def _copy(args: argparse.Namespace, settings: Settings) -> int:
    from arena.store import Store
    from arena.store.copy import copy_store
    from arena.store.database import sqlite_path

    if args.source == args.target:
        raise CliError("--from and --to name the same database: nothing to copy")
    source_file = sqlite_path(args.source)
    from_dir = args.from_data_dir or (source_file.parent if source_file else settings.data_dir)
    to_dir = args.to_data_dir or settings.data_dir
    if source_file is not None and not source_file.is_file():
        raise CliError(f"no database file at {source_file}")
    source = Store(from_dir, recover=False, database_url=args.source, storage=args.from_storage)
    target = Store(to_dir, recover=False, database_url=args.target, storage=args.to_storage or settings.storage)
    try:
        copied = copy_store(source, target, _progress)
    finally:
        source.close()
        target.close()
    for part in copied:
        print(f"{part.name:<14} source {part.source:>8}  target {part.target:>8}  added {part.added:>8}")
    short = [part.name for part in copied if not part.complete]
    if short:
        print(f"arena: the target holds fewer than the source in {', '.join(short)}; run the copy again",
              file=sys.stderr)
        return 1
    print("copied: every count in the target matches or exceeds the source", file=sys.stderr)
    return 0


def _progress(name: str, total: int):
    from tqdm import tqdm

    bar = tqdm(total=total, desc=name, unit="", leave=False, file=sys.stderr, disable=None)
    return lambda done: (bar.update(done), bar.close() if bar.n >= total else None)
