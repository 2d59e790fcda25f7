"""``python -m arena suite run|show``: run a prompt suite against models, and read a run back."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from arena.cli.common import CliError, interrupted, open_engine, say
from arena.errors import InputError
from arena.settings import Settings
from arena.store import Store, open_store
from arena.suites.model import SuiteError, file_stem, load_suite
from arena.suites.runner import DEFAULT_CONCURRENCY, ModelSummary, summarise_cells

if TYPE_CHECKING:
    from arena.catalog import Catalog
    from arena.engine import Engine
    from arena.suites.runner import SuiteRun


def add_commands(commands) -> None:
    suite = commands.add_parser("suite", help="prompt suites: run one, show a run").add_subparsers(
        dest="action", required=True)
    run = suite.add_parser("run", help="run a suite file against models; every output goes to the gallery")
    run.add_argument("file", help="the suite YAML, e.g. prompts/seed.yaml")
    run.add_argument("--models", help="comma-separated model names (not needed with --resume)")
    run.add_argument("--concurrency", type=_at_least_one, default=DEFAULT_CONCURRENCY,
                     help=f"cells at once (default {DEFAULT_CONCURRENCY}; local models: 1 each)")
    run.add_argument("--no-cache", action="store_true", help="run every cell even where a stored answer matches")
    run.add_argument("--judge", help="a vision-language model that grades the judge checks")
    run.add_argument("--resume", metavar="RUN_ID", help="finish an interrupted run: only the missing cells")
    show = suite.add_parser("show", help="a run's cells and its summary per model")
    show.add_argument("run_id")
    show.add_argument("--json", action="store_true", help="as JSON")
    runs = suite.add_parser("runs", help="the stored runs, newest first")
    runs.add_argument("--suite", help="only runs of this suite (its name)")
    exported = suite.add_parser("report", help="write a run as a self-contained HTML report and/or JSON")
    exported.add_argument("run_id")
    exported.add_argument("--out", help="the HTML report to write (default: SUITE-RUN.html here, SUITE being the "
                          "suite's name reduced to letters, digits, - and _)")
    exported.add_argument("--json", metavar="FILE", help="also (or only, with --no-html) write the run as JSON")
    exported.add_argument("--no-html", action="store_true", help="write only the JSON")
    history = suite.add_parser("history", help="one case across every run that had it")
    history.add_argument("case_id")
    history.add_argument("--suite", help="only runs of this suite (its name)")
    diff = suite.add_parser("diff", help="what changed per cell from run A to run B")
    diff.add_argument("run_a")
    diff.add_argument("run_b")
    diff.add_argument("--json", action="store_true", help="as JSON")


def run_command(args: argparse.Namespace, catalog: Catalog, settings: Settings) -> int:
    store = open_store(settings)
    reading = {"show": lambda: show_command(store, args), "runs": lambda: runs(store, args.suite),
               "report": lambda: write_report(store, args), "history": lambda: history(store, args),
               "diff": lambda: diff(store, args)}
    if args.action in reading:
        return reading[args.action]()
    from tqdm import tqdm

    with open_engine(catalog, settings, store) as engine:
        try:
            runner = _runner(engine, args)
        except SuiteError as error:
            raise CliError(str(error)) from None
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

        stopped = False
        try:
            runner.run(on_cell)
        except KeyboardInterrupt:
            stopped = True
            runner.stop()
        finally:
            bar.close()
    summary = show(store, runner.run_id)
    if stopped:
        return interrupted(f"resume with --resume {runner.run_id}")
    return 1 if errors or any(s.errors for s in summary.values()) else 0


def _runner(engine: Engine, args: argparse.Namespace) -> SuiteRun:
    from arena.suites.runner import SuiteRun, resume

    suite = load_suite(args.file)
    if args.resume and args.models:
        raise InputError("--resume runs the models the run started with: leave out --models")
    if args.resume:
        return resume(engine, args.resume, suite, concurrency=args.concurrency, use_cache=not args.no_cache)
    if not args.models:
        raise InputError("--models is needed (or --resume RUN_ID)")
    # The path in full: the Suites tab (and another replica) finds the file from it to resume the run.
    return SuiteRun(engine, suite, args.models.split(","), source=str(Path(args.file).resolve()),
                    concurrency=args.concurrency, use_cache=not args.no_cache, judge=args.judge)


def show_command(store: Store, args: argparse.Namespace) -> int:
    show(store, args.run_id, as_json=args.json)
    return 0


def show(store: Store, run_id: str, as_json: bool = False) -> dict[str, ModelSummary]:
    """Print a run's cells and its summary per model (or all of it as JSON); returns the summary."""
    run = store.get_run(run_id)
    if run is None:
        raise CliError(f"no suite run with id {run_id}")
    cells = store.run_cells(run_id)
    summary = summarise_cells(cells)
    if as_json:
        print(json.dumps({"run": run.to_dict(), "cells": [cell.to_dict() for cell in cells],
                          "summary": {m: vars(s) | {"refusal_rate": s.refusal_rate} for m, s in summary.items()}},
                         indent=1))
        return summary
    lines = [f"run {run_id}: suite {run.suite} v{run.version}, {run.status}"]
    for cell in cells:
        cached = " cached" if cell.cached else ""
        lines.append(f"  {cell.case_id:<28} {cell.model:<22} #{cell.sample} {cell.status:<9}{cached:<7} "
                     f"{_marks(cell.checks)}")
    for model, s in summary.items():
        rate = "n/a" if s.refusal_rate is None else f"{s.refusal_rate:.0%}"
        lines.append(f"{model}: {s.cells} cells, {s.errors} errors, {s.cached} cached, checks {s.checks_passed} "
                     f"passed / {s.checks_failed} failed"
                     + (f" / {s.checks_not_graded} not graded" if s.checks_not_graded else "")
                     + f", refused {rate} of what it should answer")
    print("\n".join(lines))
    return summary


def runs(store: Store, suite: str | None) -> int:
    listed = store.list_runs(suite)
    if not listed:
        say(f"no runs of a suite named {suite!r}" if suite else "no suite runs yet")
    for run in listed:
        when = datetime.fromtimestamp(run.started_at).strftime("%Y-%m-%d %H:%M")
        print(f"{run.id}  {when}  {run.suite} v{run.version}  {run.status:<11} {run.done} cells  "
              f"{', '.join(run.models)}")
    return 0


def write_report(store: Store, args: argparse.Namespace) -> int:
    from arena.suites import report
    from arena.suites.results import load_matrix

    if args.no_html and not args.json:
        raise CliError("--no-html leaves nothing to write: add --json FILE")
    matrix = load_matrix(store, args.run_id)
    if matrix is None:
        raise CliError(f"no suite run with id {args.run_id}")
    written = []
    if not args.no_html:
        out = Path(args.out or f"{file_stem(matrix.run.suite, args.run_id)}.html")
        _write(out, report.report_page(store, matrix))
        written.append(out)
    if args.json:
        out = Path(args.json)
        _write(out, json.dumps(matrix.to_json(), indent=1, ensure_ascii=False))
        written.append(out)
    for path in written:
        print(path)
    return 0


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"a whole number of cells, at least 1, not {text!r}")
    return value


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except (OSError, ValueError) as error:
        raise CliError(f"cannot write {path}: {getattr(error, 'strerror', None) or error}") from None


def history(store: Store, args: argparse.Namespace) -> int:
    from arena.suites.results import case_history

    rows = case_history(store, args.case_id, args.suite)
    if not rows:
        raise CliError(f"no run has a case {args.case_id}")
    for row in rows:
        when = datetime.fromtimestamp(row.run.started_at).strftime("%Y-%m-%d %H:%M")
        edited = "  (case edited since the run before)" if row.edited else ""
        print(f"{when}  run {row.run.id}  {row.run.suite} v{row.run.version}{edited}")
        for model, cells in row.cells.items():
            for cell in cells:
                answer = (cell.record.images and f"[picture {cell.record.images[0][:12]}]"
                          or " ".join((cell.record.error or cell.record.text).split())[:70]) if cell.record else "—"
                print(f"  {model:<22} {cell.status:<9} {_marks(cell.checks)}  {answer}")
    return 0


def diff(store: Store, args: argparse.Namespace) -> int:
    from arena.suites.results import compare_runs

    try:
        changes = compare_runs(store, args.run_a, args.run_b)
    except KeyError as missing:
        raise CliError(f"no suite run with id {missing.args[0]}") from None
    if args.json:
        print(json.dumps([{"case_id": c.case_id, "model": c.model, "sample": c.sample, "changes": c.what,
                           "a": c.a.to_dict() if c.a else None, "b": c.b.to_dict() if c.b else None}
                          for c in changes], indent=1, ensure_ascii=False))
        return 0
    if not changes:
        print("no cell changed")
    for change in changes:
        sample = f" #{change.sample}" if change.sample else ""
        print(f"{change.case_id:<28} {change.model:<22}{sample} {'; '.join(change.what)}")
    return 0


def _marks(checks: list[dict]) -> str:
    return "".join("✓" if r["passed"] else ("✗" if r["passed"] is False else "?") for r in checks)
