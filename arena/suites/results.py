"""Reading suite runs back: the matrix of one run, one case across runs, and what changed from run A to run B.

Everything here reads the store only; nothing reruns a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from arena.store import Filter, OutputRecord, Run, RunCell, Store
from arena.suites.runner import ModelSummary, summarise_cells

SHOW = ("all", "failures", "errors", "disagreements")
SORT = {"suite order": "suite", "case id": "case", "status (worst first)": "status", "time (slowest first)": "time"}


@dataclass
class MatrixCell:
    """One case × model × sample of a run, with the output it produced (None if that output was deleted)."""

    run_id: str
    case_id: str
    model: str
    sample: int
    case_hash: str
    status: str
    cached: bool
    refused: bool | None
    checks: list[dict]
    record: OutputRecord | None

    @property
    def failed(self) -> bool:
        return any(check["passed"] is False for check in self.checks)

    @property
    def errored(self) -> bool:
        return self.status != "done"

    @property
    def outcome(self) -> tuple:
        """What models are compared on when looking for disagreement."""
        return (self.status, self.refused, tuple(check["passed"] for check in self.checks))

    def to_dict(self) -> dict:
        record = self.record
        return {
            "case_id": self.case_id, "model": self.model, "sample": self.sample, "case_hash": self.case_hash,
            "status": self.status, "cached": self.cached, "refused": self.refused, "checks": self.checks,
            "output_id": record.id if record else None,
            "text": record.text if record else None,
            "error": record.error if record else None,
            "images": record.images if record else [],
            "seed": record.used.get("seed") if record else None,
            "metrics": record.metrics if record else {},
            "created": record.created if record else None,
        }


@dataclass
class Matrix:
    """Cases × models for one run."""

    run: Run
    cases: list[str]
    models: list[str]
    prompts: dict[str, str]
    cells: dict[tuple[str, str], list[MatrixCell]]
    summary: dict[str, ModelSummary] = field(default_factory=dict)

    def row(self, case_id: str) -> list[MatrixCell]:
        return [cell for model in self.models for cell in self.cells.get((case_id, model), [])]

    def pictures(self) -> list[OutputRecord]:
        """The outputs in the matrix that have pictures (to draw their thumbnails in one go before showing)."""
        return [cell.record for cells in self.cells.values() for cell in cells
                if cell.record is not None and cell.record.images]

    def disagrees(self, case_id: str) -> bool:
        """Models ended differently on this case: one refused or errored or failed a check where another did not."""
        return len({cell.outcome for cell in self.row(case_id)}) > 1

    def shown(self, show: str = "all") -> list[str]:
        """The case ids a filter keeps: all, failures (a check failed), errors, or disagreements."""
        keep = {
            "all": lambda case: True,
            "failures": lambda case: any(cell.failed for cell in self.row(case)),
            "errors": lambda case: any(cell.errored for cell in self.row(case)),
            "disagreements": self.disagrees,
        }.get(show)
        if keep is None:
            raise ValueError(f"unknown filter {show!r}: one of {', '.join(SHOW)}")
        return [case for case in self.cases if keep(case)]

    def arranged(self, show: str = "all", search: str = "", sort: str = "suite") -> list[str]:
        """The case ids shown: kept by ``show``, then those whose id or prompt holds every word of ``search``,
        ordered by ``sort`` (suite order, case id, status with errors and failures first, or slowest first)."""
        cases = self.shown(show)
        words = search.lower().split()
        if words:
            cases = [case for case in cases if all(w in f"{case} {self.prompts.get(case, '')}".lower() for w in words)]
        if sort == "case":
            return sorted(cases)
        if sort == "status":
            return sorted(cases, key=lambda case: (-self.severity(case), cases.index(case)))
        if sort == "time":
            return sorted(cases, key=lambda case: (-self.slowest(case), cases.index(case)))
        if sort != "suite":
            raise ValueError(f"unknown order {sort!r}: one of {', '.join(SORT.values())}")
        return cases

    def severity(self, case_id: str) -> int:
        """3 a cell errored, 2 a check failed, 1 the models disagree, 0 all passed."""
        row = self.row(case_id)
        if any(cell.errored for cell in row):
            return 3
        if any(cell.failed for cell in row):
            return 2
        return 1 if self.disagrees(case_id) else 0

    def slowest(self, case_id: str) -> float:
        times = [cell.record.metrics.get("total_s") or 0.0 for cell in self.row(case_id) if cell.record is not None]
        return max(times, default=0.0)

    def counts(self) -> dict[str, int]:
        everything = [cell for cells in self.cells.values() for cell in cells]
        return {
            "cells": len(everything),
            "errors": sum(cell.errored for cell in everything),
            "failures": sum(cell.failed for cell in everything),
            "cached": sum(cell.cached for cell in everything),
        }

    def to_json(self) -> dict:
        return {
            "run": self.run.to_dict() | {"models": self.models, "cases": self.cases},
            "counts": self.counts(),
            "summary": {model: vars(s) | {"refusal_rate": s.refusal_rate} for model, s in self.summary.items()},
            "cases": [
                {"id": case, "prompt": self.prompts.get(case, ""), "disagreement": self.disagrees(case),
                 "cells": [cell.to_dict() for cell in self.row(case)]}
                for case in self.cases
            ],
        }


def load_matrix(store: Store, run_id: str) -> Matrix | None:
    run = store.get_run(run_id)
    if run is None:
        return None
    run_cells = store.run_cells(run_id)
    cells = _with_records(store, run_cells)
    models, ordered = run.models, run.cases
    seen = list(dict.fromkeys(cell.case_id for cell in cells))
    cases = [case for case in ordered if case in seen] + sorted(set(seen) - set(ordered))
    grid: dict[tuple[str, str], list[MatrixCell]] = {}
    prompts: dict[str, str] = {}
    for cell in sorted(cells, key=lambda c: c.sample):
        grid.setdefault((cell.case_id, cell.model), []).append(cell)
        if cell.record is not None:
            prompts.setdefault(cell.case_id, cell.record.prompt)
    return Matrix(run=run, cases=cases, models=[m for m in models if any(k[1] == m for k in grid)] or models,
                  prompts=prompts, cells=grid, summary=summarise_cells(run_cells))


def load_cell(store: Store, run_id: str, case_id: str, model: str, sample: int) -> MatrixCell | None:
    """One cell of a run, with its output."""
    found = _with_records(store, store.run_cells(run_id, case_id, model, sample))
    return found[0] if found else None


@dataclass
class HistoryRow:
    run: Run
    case_hash: str | None
    edited: bool  # the case's content differs from the run before
    cells: dict[str, list[MatrixCell]]


def case_history(store: Store, case_id: str, suite: str | None = None) -> list[HistoryRow]:
    """One case across every run that had it, oldest first: the same prompt, each model, each date."""
    cells = _with_records(store, store.case_cells(case_id, suite))
    history: list[HistoryRow] = []
    for run in store.get_runs(sorted({cell.run_id for cell in cells})):
        mine = [cell for cell in cells if cell.run_id == run.id]
        by_model: dict[str, list[MatrixCell]] = {}
        for cell in sorted(mine, key=lambda c: (c.model, c.sample)):
            by_model.setdefault(cell.model, []).append(cell)
        case_hash = mine[0].case_hash if mine else None
        edited = bool(history) and history[-1].case_hash != case_hash
        history.append(HistoryRow(run, case_hash, edited, by_model))
    return history


@dataclass
class Change:
    case_id: str
    model: str
    sample: int
    a: MatrixCell | None
    b: MatrixCell | None
    what: list[str]


def compare_runs(store: Store, run_a: str, run_b: str) -> list[Change]:
    """Per cell present in either run, what changed from A to B; unchanged cells are left out."""
    a, b = load_matrix(store, run_a), load_matrix(store, run_b)
    if a is None or b is None:
        raise KeyError(run_a if a is None else run_b)
    index_a = {(c.case_id, c.model, c.sample): c for cells in a.cells.values() for c in cells}
    index_b = {(c.case_id, c.model, c.sample): c for cells in b.cells.values() for c in cells}
    order = list(dict.fromkeys([*b.cases, *a.cases]))
    changes = []
    for key in sorted(index_a.keys() | index_b.keys(), key=lambda k: (order.index(k[0]), k[1], k[2])):
        what = differences(index_a.get(key), index_b.get(key))
        if what:
            changes.append(Change(*key, index_a.get(key), index_b.get(key), what))
    return changes


def differences(a: MatrixCell | None, b: MatrixCell | None) -> list[str]:
    if a is None or b is None:
        return ["only in run B" if a is None else "only in run A"]
    what = []
    if a.case_hash != b.case_hash:
        what.append("the case was edited between the runs")
    if a.errored != b.errored:
        what.append("now errors" if b.errored else "no longer errors")
    if a.refused is not None and b.refused is not None and a.refused != b.refused:
        what.append("new refusal" if b.refused else "no longer refuses")
    checks_a = {check["check"]: check["passed"] for check in a.checks}
    for check in b.checks:
        before = checks_a.get(check["check"])
        if before is not None and check["passed"] is not None and before != check["passed"]:
            what.append(f"check {check['check']} now {'passes' if check['passed'] else 'fails'}")
    if a.record and b.record and not what:
        if a.record.images != b.record.images and (a.record.images or b.record.images):
            what.append("a different picture")
        elif a.record.text.strip() != b.record.text.strip():
            what.append("a different answer")
    return what


def _with_records(store: Store, cells: list[RunCell]) -> list[MatrixCell]:
    """The run cells, each with the output it produced."""
    ids = [cell.output_id for cell in cells if cell.output_id]
    records = {record.id: record for record in store.all(Filter(ids=ids))} if ids else {}
    return [
        MatrixCell(run_id=cell.run_id, case_id=cell.case_id, model=cell.model, sample=cell.sample,
             case_hash=cell.case_hash, status=cell.status, cached=cell.cached, refused=cell.refused,
             checks=cell.checks, record=records.get(cell.output_id))
        for cell in cells
    ]
