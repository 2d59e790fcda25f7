"""``python -m arena suite run|show``: run a prompt suite against models, and read a run back."""

from __future__ import annotations

import argparse
import json
import sys

from tqdm import tqdm

from arena.catalog import Catalog
from arena.engine import Engine
from arena.errors import InputError
from arena.settings import Settings
from arena.store import Store
from arena.suites.model import SuiteError, load_suite
from arena.suites.runner import SuiteRun, resume, run_info, summarise


def add_commands(commands) -> None:
    suite = commands.add_parser("suite", help="prompt suites: run one, show a run").add_subparsers(
        dest="action", required=True)
    run = suite.add_parser("run", help="run a suite file against models; every output goes to the gallery")
    run.add_argument("file", help="the suite YAML, e.g. prompts/seed.yaml")
    run.add_argument("--models", help="comma-separated model names (not needed with --resume)")
    run.add_argument("--concurrency", type=int, default=4, help="cells at once (default 4; local models: 1 each)")
    run.add_argument("--no-cache", action="store_true", help="run every cell even where a stored answer matches")
    run.add_argument("--judge", help="a vision-language model that grades the judge checks")
    run.add_argument("--resume", metavar="RUN_ID", help="finish an interrupted run: only the missing cells")
    show = suite.add_parser("show", help="a run's cells and its summary per model")
    show.add_argument("run_id")
    show.add_argument("--json", action="store_true", help="as JSON")


def run_command(args: argparse.Namespace, catalog: Catalog, settings: Settings) -> int:
    store = Store(settings.data_dir)
    if args.action == "show":
        return show(store, args.run_id, as_json=args.json)
    engine = Engine(catalog, settings, store)
    try:
        suite = load_suite(args.file)
        if args.resume:
            runner = resume(engine, args.resume, suite, concurrency=args.concurrency, use_cache=not args.no_cache)
        else:
            if not args.models:
                raise InputError("--models is needed (or --resume RUN_ID)")
            runner = SuiteRun(engine, suite, args.models.split(","), source=str(args.file),
                              concurrency=args.concurrency, use_cache=not args.no_cache, judge=args.judge)
    except (SuiteError, InputError) as error:
        print(f"arena: {error}", file=sys.stderr)
        engine.close()
        return 2
    pending = runner.pending()
    print(f"run {runner.run_id}: {len(pending)} of {len(runner.cells())} cells to do", file=sys.stderr)
    bar = tqdm(total=len(pending), unit="cell", file=sys.stderr, disable=None)
    errors = 0

    def on_cell(result) -> None:
        nonlocal errors
        errors += result.status == "error"
        bar.set_postfix_str(f"{result.model} {result.case_id}: {result.status}{' (cached)' * result.cached}",
                            refresh=False)
        bar.update(1)

    interrupted = False
    try:
        runner.run(on_cell)
    except KeyboardInterrupt:
        interrupted = True
        runner.stop()
        print(f"\narena: stopped; resume with --resume {runner.run_id}", file=sys.stderr)
    finally:
        bar.close()
        engine.close()
    show(store, runner.run_id)
    if interrupted:
        return 130
    return 1 if errors or any(s.errors for s in summarise(store, runner.run_id).values()) else 0


def show(store: Store, run_id: str, as_json: bool = False) -> int:
    info = run_info(store, run_id)
    if info is None:
        print(f"arena: no suite run with id {run_id}", file=sys.stderr)
        return 2
    cells = [dict(row) for row in store.connection().execute(
        "SELECT * FROM run_cells WHERE run_id = ? ORDER BY case_id, model, sample", (run_id,))]
    summary = summarise(store, run_id)
    if as_json:
        for cell in cells:
            cell["checks"] = json.loads(cell["checks"])
        print(json.dumps({"run": info, "cells": cells, "summary": {m: vars(s) | {"refusal_rate": s.refusal_rate}
                                                                  for m, s in summary.items()}}, indent=1))
        return 0
    print(f"run {run_id}: suite {info['suite']} v{info['version']}, {info['status']}")
    for cell in cells:
        marks = "".join("✓" if r["passed"] else ("✗" if r["passed"] is False else "?")
                        for r in json.loads(cell["checks"]))
        cached = " cached" if cell["cached"] else ""
        print(f"  {cell['case_id']:<28} {cell['model']:<22} #{cell['sample']} {cell['status']:<9}{cached:<7} {marks}")
    for model, s in summary.items():
        rate = "n/a" if s.refusal_rate is None else f"{s.refusal_rate:.0%}"
        print(f"{model}: {s.cells} cells, {s.errors} errors, {s.cached} cached, checks {s.checks_passed} passed / "
              f"{s.checks_failed} failed, refused {rate} of what it should answer")
    return 0
