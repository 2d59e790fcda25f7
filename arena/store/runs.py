"""Suite runs and their cells: a run is one suite against some models; a cell is one case × model × sample of
it, recorded as soon as it ends (so an interrupted run resumes with the rest)."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import asdict, dataclass, field

from arena.store.database import insert, marks
from arena.store.records import new_id


@dataclass
class Run:
    id: str
    suite: str
    version: str
    source: str
    models: list[str]
    judge: str | None
    started_at: float
    finished_at: float | None
    status: str  # running | finished | interrupted
    cases: list[str] = field(default_factory=list)  # the suite's case ids, in suite order
    done: int | None = None  # how many cells it holds (only where runs are listed)
    user_name: str | None = None  # who started it, where people sign in

    def to_dict(self) -> dict:
        fields = asdict(self)
        if self.done is None:
            del fields["done"]
        return fields


@dataclass
class RunCell:
    run_id: str
    case_id: str
    case_hash: str
    model: str
    sample: int
    output_id: str | None
    status: str
    cached: bool
    refused: bool | None
    checks: list[dict]  # each check's result: {"check": ..., "passed": True | False | None, ...}

    def to_dict(self) -> dict:
        return asdict(self)


class Runs:
    """The suite-run half of ``Store`` (it brings ``connection`` and ``transaction``)."""

    def start_run(self, suite: str, version: str, source: str, models: list[str], judge: str | None,
                  cases: list[str], user_name: str | None = None) -> Run:
        run = Run(id=new_id(), suite=suite, version=version, source=source, models=list(models), judge=judge,
                  started_at=time.time(), finished_at=None, status="running", cases=list(cases),
                  user_name=user_name)
        with self.transaction() as db:
            insert(db, "runs", {"id": run.id, "suite": run.suite, "version": run.version, "source": run.source,
                                "models": json.dumps(run.models), "judge": run.judge, "started_at": run.started_at,
                                "finished_at": None, "status": run.status, "cases": json.dumps(run.cases),
                                "user_name": run.user_name})
        return run

    def finish_run(self, run_id: str, status: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE runs SET finished_at = ?, status = ? WHERE id = ?", (time.time(), status, run_id))

    def save_cell(self, cell: RunCell) -> None:
        """Record a cell (again, if it ran again)."""
        with self.transaction() as db:
            insert(db, "run_cells", {
                "run_id": cell.run_id, "case_id": cell.case_id, "case_hash": cell.case_hash, "model": cell.model,
                "sample": cell.sample, "output_id": cell.output_id, "status": cell.status,
                "cached": int(cell.cached), "refused": None if cell.refused is None else int(cell.refused),
                "checks": json.dumps(cell.checks)}, "replace")

    def get_run(self, run_id: str) -> Run | None:
        row = self.connection().execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return _run(row) if row else None

    def get_runs(self, run_ids: list[str]) -> list[Run]:
        """These runs, oldest first."""
        return [_run(row) for row in self.connection().execute(
            f"SELECT * FROM runs WHERE id IN ({marks(run_ids)}) ORDER BY started_at", run_ids)]

    def list_runs(self, suite: str | None = None) -> list[Run]:
        """Every run (of one suite's name, if given), newest first, with how many cells it holds."""
        condition, values = ("WHERE r.suite = ?", [suite]) if suite else ("", [])
        rows = self.connection().execute(
            f"SELECT r.*, (SELECT COUNT(*) FROM run_cells c WHERE c.run_id = r.id) AS done "
            f"FROM runs r {condition} ORDER BY r.started_at DESC", values)
        return [_run(row) for row in rows]

    def run_cells(self, run_id: str, case_id: str | None = None, model: str | None = None,
                  sample: int | None = None) -> list[RunCell]:
        """A run's cells (those of one case, model or sample where given), by case id, model and sample."""
        clauses, values = ["run_id = ?"], [run_id]
        for column, value in (("case_id", case_id), ("model", model), ("sample", sample)):
            if value is not None:
                clauses.append(f"{column} = ?")
                values.append(value)
        rows = self.connection().execute(
            f"SELECT * FROM run_cells WHERE {' AND '.join(clauses)} ORDER BY case_id, model, sample", values)
        return [_cell(row) for row in rows]

    def case_cells(self, case_id: str, suite: str | None = None) -> list[RunCell]:
        """One case's cells in every run (of one suite's name, if given), oldest run first."""
        condition = "WHERE c.case_id = ?" + (" AND r.suite = ?" if suite else "")
        rows = self.connection().execute(
            f"SELECT c.* FROM run_cells c JOIN runs r ON r.id = c.run_id {condition} "
            f"ORDER BY r.started_at, c.model, c.sample", [case_id, *([suite] if suite else [])])
        return [_cell(row) for row in rows]

    def done_cells(self, run_id: str) -> set[tuple[str, str, int]]:
        """(case id, model, sample) of every cell the run has recorded."""
        return {(r[0], r[1], r[2]) for r in self.connection().execute(
            "SELECT case_id, model, sample FROM run_cells WHERE run_id = ?", (run_id,))}


def _run(row: sqlite3.Row) -> Run:
    return Run(id=row["id"], suite=row["suite"], version=row["version"], source=row["source"],
               models=json.loads(row["models"]), judge=row["judge"], started_at=row["started_at"],
               finished_at=row["finished_at"], status=row["status"],
               cases=json.loads(row["cases"]) if row["cases"] else [],
               done=row["done"] if "done" in row.keys() else None, user_name=row["user_name"])


def _cell(row: sqlite3.Row) -> RunCell:
    return RunCell(run_id=row["run_id"], case_id=row["case_id"], case_hash=row["case_hash"], model=row["model"],
                   sample=row["sample"], output_id=row["output_id"], status=row["status"],
                   cached=bool(row["cached"]), refused=None if row["refused"] is None else bool(row["refused"]),
                   checks=json.loads(row["checks"]))
