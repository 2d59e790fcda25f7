"""``python -m arena gallery list|show|export|inspect``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from arena.cli.common import CliError
from arena.inputs import parse_day
from arena.settings import Settings
from arena.store import Filter, open_store


def add_commands(commands) -> None:
    gallery = commands.add_parser("gallery", help="the outputs kept so far").add_subparsers(dest="action",
                                                                                           required=True)
    listing = gallery.add_parser("list", help="newest first, one line per output")
    export = gallery.add_parser("export", help="write outputs as a static HTML page, JSON Lines or a contact sheet")
    for sub in (listing, export):
        sub.add_argument("--model", action="append", default=[], help="only this model (repeatable)")
        sub.add_argument("--kind", choices=["text", "image"], help="only text or only image outputs")
        sub.add_argument("--search", default="", help="words that must all be in the prompt")
        sub.add_argument("--since", help="from this date (YYYY-MM-DD)")
        sub.add_argument("--until", help="up to this date, inclusive (YYYY-MM-DD)")
        sub.add_argument("--favourites", action="store_true", help="only favourites")
        sub.add_argument("--run", help="only outputs of this suite run")
    listing.add_argument("--limit", type=int, default=50)
    export.add_argument("--comparison", help="every output of this comparison")
    export.add_argument("--ids", help="comma-separated output ids")
    export.add_argument("--format", choices=["html", "jsonl", "sheet"], default="html")
    export.add_argument("--out", type=Path, required=True, help="a folder, a .zip (html, jsonl) or a .png (sheet)")
    show = gallery.add_parser("show", help="one output's whole record")
    show.add_argument("id")
    inspect = gallery.add_parser("inspect", help="read the record a generated PNG carries")
    inspect.add_argument("file", type=Path)


def run_command(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "inspect":
        return inspect(args)
    store = open_store(settings)
    if args.action == "show":
        record = store.get(args.id)
        if record is None:
            raise CliError(f"no output with id {args.id}")
        print(json.dumps(record.to_dict(), indent=2, ensure_ascii=False, sort_keys=True))
        return 0
    where = make_filter(args)
    if args.action == "list":
        records, total = store.query(where, per_page=args.limit)
        for record in records:
            summary = (record.error or record.text or ", ".join(f"{s[:12]}.png" for s in record.images)).split("\n")[0]
            star = "*" if record.favourite else " "
            print(f"{record.id} {star} {record.created[:16]}  {record.model:<20} {record.status:<9} "
                  f"{record.prompt[:40]!r}  {summary[:60]}")
        print(f"{len(records)} of {total} outputs", file=sys.stderr)
        return 0
    from arena.store.export import export

    records = store.all(where)
    try:
        written = export(store, records, args.out, args.format)
    except ValueError as error:
        raise CliError(str(error)) from None
    print(f"{len(records)} outputs -> {written}")
    return 0


def make_filter(args: argparse.Namespace) -> Filter:
    where = Filter(models=args.model, output=args.kind, words=args.search, favourites=args.favourites,
                   run_id=args.run, since=parse_day(args.since), until=parse_day(args.until, end_of_day=True))
    if getattr(args, "comparison", None):
        where.comparison_id = args.comparison
    if getattr(args, "ids", None):
        where.ids = [i.strip() for i in args.ids.split(",") if i.strip()]
    return where


def inspect(args: argparse.Namespace) -> int:
    from arena.store.pictures import read_record

    try:
        record = read_record(args.file)
    except (OSError, ValueError) as error:
        raise CliError(f"cannot read {args.file}: {error}") from None
    if record is None:
        raise CliError(f"{args.file} carries no Arena record", code=1)
    print(json.dumps(record, indent=2, ensure_ascii=False, sort_keys=True))
    return 0
