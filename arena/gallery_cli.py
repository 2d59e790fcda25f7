"""``python -m arena gallery list|show|export|inspect``."""

from __future__ import annotations

import argparse
import json
import sys

from arena.errors import InputError
from arena.settings import Settings
from arena.store import Filter, Store, parse_day
from arena.store.export import export
from arena.store.pictures import read_record


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "inspect":
        return inspect(args)
    store = Store(settings.data_dir)
    if args.action == "show":
        record = store.get(args.id)
        if record is None:
            print(f"arena: no output with id {args.id}", file=sys.stderr)
            return 2
        print(json.dumps(record.to_dict(), indent=2, ensure_ascii=False, sort_keys=True))
        return 0
    try:
        where = make_filter(args)
    except InputError as error:
        print(f"arena: {error}", file=sys.stderr)
        return 2
    if args.action == "list":
        records, total = store.query(where, per_page=args.limit)
        for record in records:
            summary = (record.error or record.text or ", ".join(f"{s[:12]}.png" for s in record.images)).split("\n")[0]
            star = "*" if record.favourite else " "
            print(f"{record.id} {star} {record.created[:16]}  {record.model:<20} {record.status:<9} "
                  f"{record.prompt[:40]!r}  {summary[:60]}")
        print(f"{len(records)} of {total} outputs", file=sys.stderr)
        return 0
    records = store.all(where)
    try:
        written = export(store, records, args.out, args.format)
    except ValueError as error:
        print(f"arena: {error}", file=sys.stderr)
        return 2
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
    try:
        record = read_record(args.file)
    except (OSError, ValueError) as error:
        print(f"arena: cannot read {args.file}: {error}", file=sys.stderr)
        return 2
    if record is None:
        print(f"arena: {args.file} carries no Arena record", file=sys.stderr)
        return 1
    print(json.dumps(record, indent=2, ensure_ascii=False, sort_keys=True))
    return 0
