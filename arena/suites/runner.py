"""Running a suite: every case × model × sample is a cell; cells run concurrently, bounded per model.

Each cell's output goes to the gallery tagged with the run; the cell itself (checks, refusal, cached or not) is
recorded in run_cells as soon as it ends, so an interrupted run keeps what finished and resumes with the rest.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Callable

from arena.engine import Comparison, Engine
from arena.errors import InputError
from arena.images import load_image
from arena.lineage import Lineage
from arena.request import Request
from arena.store import OutputRecord, Run, RunCell, Store
from arena.suites import checks
from arena.suites.model import Case, Suite

# Cells run at once unless asked otherwise (the CLI's --concurrency, the Suites tab's "Cells at once").
DEFAULT_CONCURRENCY = 4


@dataclass(frozen=True)
class PlannedCell:
    """One case × model × sample a run is to produce."""

    case: Case
    model: str
    sample: int


@dataclass
class CellOutcome:
    """What one planned cell came to: its status, the output saved, and its checks."""

    case_id: str
    model: str
    sample: int
    status: str  # done | error | cancelled
    cached: bool
    output_id: str | None
    refused: bool | None
    checks: list[checks.CheckResult] = field(default_factory=list)
    error: str | None = None


@dataclass
class ModelSummary:
    cells: int = 0
    errors: int = 0
    cached: int = 0
    checks_passed: int = 0
    checks_failed: int = 0
    checks_not_graded: int = 0  # a judge check with no judge chosen, or a check of an output that errored
    should_answer: int = 0
    refused_when_should_answer: int = 0

    @property
    def refusal_rate(self) -> float | None:
        return self.refused_when_should_answer / self.should_answer if self.should_answer else None


class SuiteRun:
    def __init__(self, engine: Engine, suite: Suite, models: list[str], *, source: str = "", run_id: str | None = None,
                 concurrency: int = DEFAULT_CONCURRENCY, use_cache: bool = True, judge: str | None = None,
                 per_model_local: int = 1, per_model_api: int = 4):
        if engine.store is None:
            raise InputError("suite runs keep their results in the gallery: the store is off")
        self.engine = engine
        self.store: Store = engine.store
        self.suite = suite
        self.models = engine.check(Request(suite.cases[0].prompt), models)
        if judge is not None:
            engine.check(Request("judge"), [judge])
        self.judge_model = judge
        self.concurrency = max(1, concurrency)
        self.use_cache = use_cache
        self.source = source
        self._limits = {
            name: threading.Semaphore(per_model_local if engine.catalog[name].is_local else per_model_api)
            for name in {*self.models, *([judge] if judge else [])}
        }
        self._stop = threading.Event()
        self._running: set[Comparison] = set()
        self._lock = threading.Lock()
        self.run_id = run_id or self._start_run()

    # --- public ----------------------------------------------------------------------------------------------

    def cells(self) -> list[PlannedCell]:
        """Every cell the suite asks of these models: text cases for text models, image cases for generators."""
        return [
            PlannedCell(case, model, sample)
            for case in self.suite.cases
            for model in self.models
            if self.engine.catalog[model].output == case.expect
            for sample in range(case.samples)
        ]

    def pending(self) -> list[PlannedCell]:
        done = self.store.done_cells(self.run_id)
        return [c for c in self.cells() if (c.case.id, c.model, c.sample) not in done]

    def run(self, on_cell: Callable[[CellOutcome], None] | None = None) -> list[CellOutcome]:
        """Run the pending cells; returns their results. ``stop()`` ends it early, keeping what finished."""
        results: list[CellOutcome] = []
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="suite")
        try:
            for future in as_completed([pool.submit(self._cell_or_none, cell) for cell in self.pending()]):
                result = future.result()
                if result is None:
                    continue
                results.append(result)
                if on_cell is not None:
                    on_cell(result)
        except BaseException:  # Ctrl-C in the CLI, or a failing callback: the cells still queued must not run
            self.stop()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            self.store.finish_run(self.run_id, "interrupted" if self._stop.is_set() else "finished")
        return results

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            running = list(self._running)
        for comparison in running:
            comparison.cancel()

    # --- one cell --------------------------------------------------------------------------------------------

    def _cell_or_none(self, cell: PlannedCell) -> CellOutcome | None:
        if self._stop.is_set():
            return None
        case_hash = self.suite.case_hash(cell.case)
        record = self._cached(cell, case_hash) if self.use_cache and self._cacheable(cell) else None
        cached = record is not None
        if record is None:
            record = self._generate(cell, case_hash)
            if record is None:  # stopped before it ended
                return None
        judge = self._judge if self.judge_model else None
        results = [checks.evaluate(check, record, judge) for check in cell.case.checks]
        refused = checks.refused(record.text) if record.output == "text" and record.status == "done" else None
        result = CellOutcome(cell.case.id, cell.model, cell.sample, record.status, cached, record.id, refused,
                            results, record.error)
        self.store.save_cell(RunCell(self.run_id, cell.case.id, case_hash, cell.model, cell.sample, record.id,
                                     record.status, cached, refused, [r.to_dict() for r in results]))
        return result

    def _cacheable(self, cell: PlannedCell) -> bool:
        """Only a fixed seed makes an answer repeatable; sampling without one is never taken from the cache."""
        return self.suite.params(cell.case).seed is not None

    def _cached(self, cell: PlannedCell, case_hash: str) -> OutputRecord | None:
        return self.store.cached_answer(cell.model, case_hash, cell.sample)

    def _generate(self, cell: PlannedCell, case_hash: str) -> OutputRecord | None:
        params = self.suite.params(cell.case)
        if params.seed is not None and cell.sample:
            params = params.model_copy(update={"seed": params.seed + cell.sample})
        image_path = cell.case.image_path()
        request = Request(cell.case.prompt, load_image(image_path) if image_path else None, params, stream=False)
        with self._limits[cell.model]:
            if self._stop.is_set():
                return None
            comparison = self.engine.start(request, [cell.model], lineage=Lineage(
                run_id=self.run_id, case_id=cell.case.id, case_hash=case_hash, sample=cell.sample))
            with self._lock:
                self._running.add(comparison)
            try:
                [pane] = comparison.wait()
            finally:
                with self._lock:
                    self._running.discard(comparison)
        if pane.status == "cancelled" and self._stop.is_set():
            return None
        return self.store.get(pane.record_id) if pane.record_id else None

    def _judge(self, rubric: str, record: OutputRecord):
        image = checks.judge_input_image(record, self.store.input_image)
        request = Request(checks.judge_prompt(rubric, record), image, stream=False)
        with self._limits[self.judge_model]:
            [pane] = self.engine.start(request, [self.judge_model], save=False).wait()
        if pane.status != "done":
            return None, None, f"the judge failed: {pane.error or pane.status}"
        return checks.parse_verdict(pane.text)

    def _start_run(self) -> str:
        return self.store.start_run(self.suite.name, str(self.suite.version), self.source, self.models,
                                    self.judge_model, [case.id for case in self.suite.cases],
                                    user_name=self.engine.user_name).id


def summarise(store: Store, run_id: str) -> dict[str, ModelSummary]:
    """Per model: cells, errors, cached, checks passed and failed, and the refusal rate where answers were due."""
    return summarise_cells(store.run_cells(run_id))


def summarise_cells(cells: list[RunCell]) -> dict[str, ModelSummary]:
    """``summarise`` of cells already read."""
    summary: dict[str, ModelSummary] = {}
    for cell in cells:
        model = summary.setdefault(cell.model, ModelSummary())
        model.cells += 1
        model.errors += cell.status == "error"
        model.cached += cell.cached
        for result in cell.checks:
            model.checks_passed += result["passed"] is True
            model.checks_failed += result["passed"] is False
            model.checks_not_graded += result["passed"] is None
            if result["check"] == "expects_answer" and cell.refused is not None:
                model.should_answer += 1
                model.refused_when_should_answer += cell.refused
    return summary


def resume(engine: Engine, run_id: str, suite: Suite, **options) -> SuiteRun:
    run: Run | None = engine.store.get_run(run_id) if engine.store else None
    if run is None:
        raise InputError(f"no suite run with id {run_id}")
    if run.suite != suite.name:
        raise InputError(f"run {run_id} is of suite {run.suite!r}, not {suite.name!r}")
    return SuiteRun(engine, suite, run.models, source=run.source, run_id=run_id, judge=run.judge, **options)

