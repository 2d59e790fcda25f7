"""The store's suite runs and cells (typed Run / RunCell), and the seam it keeps: no SQL outside arena/store."""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from arena.errors import InputError
from arena.inputs import parse_day
from arena.store import OutputRecord, Run, RunCell, Store, new_id
from tests import postgres as server

database_url = server.database_url  # a fixture
postgres = server.postgres  # a fixture

ARENA = Path(__file__).resolve().parents[1] / "arena"


@pytest.fixture
def store(tmp_path, database_url) -> Store:
    store = Store(tmp_path / "data", database_url=database_url)
    yield store
    store.close()


def _cell(run: Run, case_id: str, model: str = "m", sample: int = 0, status: str = "done",
          passed: bool | None = True, refused: bool | None = False, output_id: str | None = None) -> RunCell:
    return RunCell(run_id=run.id, case_id=case_id, case_hash=f"hash-{case_id}", model=model, sample=sample,
                   output_id=output_id, status=status, cached=False, refused=refused,
                   checks=[{"check": "contains", "passed": passed}])


def _output(store: Store, model: str, case_hash: str, sample: int = 0, status: str = "done") -> OutputRecord:
    comparison_id = new_id()
    store.ensure_comparison(comparison_id, "a prompt", time.time())
    return store.save(OutputRecord(
        id=new_id(), comparison_id=comparison_id, created_at=time.time(), model=model, kind="openai-chat",
        output="text", status=status, prompt="a prompt", input_image=None, text="an answer", error=None, images=[],
        thumb=None, entry={"name": model}, params={}, used={}, versions={}, metrics={}, notices=[],
        case_id="greet", case_hash=case_hash, sample=sample))


def test_a_run_reads_back_typed_with_its_models_and_cases_as_lists(store):
    run = store.start_run("seed", "3", "prompts/seed.yaml", ["a", "b"], None, ["greet", "draw"])
    back = store.get_run(run.id)
    assert back == run
    assert (back.models, back.cases, back.status, back.finished_at) == (["a", "b"], ["greet", "draw"], "running", None)
    store.finish_run(run.id, "interrupted")
    finished = store.get_run(run.id)
    assert finished.status == "interrupted" and finished.finished_at >= run.started_at
    assert store.get_run("no-such-run") is None
    assert "done" not in finished.to_dict() and finished.to_dict()["models"] == ["a", "b"]


def test_runs_are_listed_newest_first_with_their_cell_counts_and_filtered_by_suite(store):
    first = store.start_run("seed", "1", "", ["m"], None, ["greet"])
    other = store.start_run("another", "1", "", ["m"], "judge", ["greet"])
    last = store.start_run("seed", "2", "", ["m"], None, ["greet", "draw"])
    store.save_cell(_cell(first, "greet"))
    store.save_cell(_cell(last, "greet"))
    store.save_cell(_cell(last, "draw"))
    assert [(r.id, r.done) for r in store.list_runs()] == [(last.id, 2), (other.id, 0), (first.id, 1)]
    assert [r.id for r in store.list_runs("seed")] == [last.id, first.id]
    assert [r.id for r in store.get_runs([last.id, first.id])] == [first.id, last.id]
    assert store.get_runs([]) == []


def test_cells_read_back_as_saved_in_case_model_sample_order_and_a_rerun_cell_replaces_its_row(store):
    run = store.start_run("seed", "1", "", ["a", "b"], None, ["greet", "draw"])
    store.save_cell(_cell(run, "greet", "b", refused=None, passed=None))
    store.save_cell(_cell(run, "draw", "a", status="error", passed=False, refused=True))
    store.save_cell(_cell(run, "greet", "a", sample=1))
    store.save_cell(_cell(run, "greet", "a"))
    cells = store.run_cells(run.id)
    assert [(c.case_id, c.model, c.sample) for c in cells] == [("draw", "a", 0), ("greet", "a", 0),
                                                              ("greet", "a", 1), ("greet", "b", 0)]
    assert cells[0] == _cell(run, "draw", "a", status="error", passed=False, refused=True)
    assert cells[3].refused is None and cells[3].checks == [{"check": "contains", "passed": None}]
    store.save_cell(_cell(run, "draw", "a", output_id="later"))
    [again] = store.run_cells(run.id, case_id="draw", model="a", sample=0)
    assert (again.status, again.output_id) == ("done", "later")
    assert store.done_cells(run.id) == {("draw", "a", 0), ("greet", "a", 0), ("greet", "a", 1), ("greet", "b", 0)}
    assert [c.sample for c in store.run_cells(run.id, model="a", case_id="greet")] == [0, 1]


def test_a_case_is_found_in_every_run_that_had_it_oldest_run_first(store):
    old = store.start_run("seed", "1", "", ["m"], None, ["greet"])
    elsewhere = store.start_run("another", "1", "", ["m"], None, ["greet"])
    new = store.start_run("seed", "2", "", ["m"], None, ["greet"])
    for run in (new, elsewhere, old):
        store.save_cell(_cell(run, "greet"))
        store.save_cell(_cell(run, "other"))
    assert [c.run_id for c in store.case_cells("greet")] == [old.id, elsewhere.id, new.id]
    assert [c.run_id for c in store.case_cells("greet", "seed")] == [old.id, new.id]
    assert store.case_cells("missing") == []


def test_the_cached_answer_is_the_newest_finished_output_of_that_model_case_and_sample(store):
    _output(store, "m", "h1")
    newest = _output(store, "m", "h1")
    _output(store, "m", "h1", status="error")
    _output(store, "other", "h1")
    _output(store, "m", "h1", sample=1)
    assert store.cached_answer("m", "h1", 0).id == newest.id
    assert store.cached_answer("m", "h2", 0) is None
    assert store.cached_answer("nobody", "h1", 0) is None


def test_inserts_name_their_columns_so_a_column_added_later_does_not_shift_them(store):
    with store.transaction() as db:
        db.execute("ALTER TABLE outputs ADD COLUMN added_later TEXT NOT NULL DEFAULT ''")
        db.execute("ALTER TABLE run_cells ADD COLUMN added_later TEXT NOT NULL DEFAULT ''")
        db.execute("ALTER TABLE runs ADD COLUMN added_later TEXT NOT NULL DEFAULT ''")
        db.execute("ALTER TABLE comparisons ADD COLUMN added_later TEXT NOT NULL DEFAULT ''")
    record = _output(store, "m", "h1")
    assert store.get(record.id) == record
    run = store.start_run("seed", "1", "", ["m"], None, ["greet"])
    store.save_cell(_cell(run, "greet", output_id=record.id))
    assert store.run_cells(run.id)[0].output_id == record.id


def test_no_sql_outside_the_store():
    """Every query lives behind arena/store, the one seam a second database engine plugs into."""
    sql = re.compile(r"\.(execute|executemany|executescript)\(|\.connection\(\)|\bsqlite3\b")
    offenders = [
        f"{path.relative_to(ARENA.parent)}:{number}"
        for path in ARENA.rglob("*.py") if "store" not in path.relative_to(ARENA).parts[:1]
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1) if sql.search(line)
    ]
    assert offenders == []


def test_a_typed_day_is_a_utc_timestamp_and_a_wrong_one_is_said_in_a_sentence():
    start = datetime(2026, 11, 26, tzinfo=timezone.utc).timestamp()
    assert parse_day("2026-11-26") == start
    assert parse_day(" 2026-11-26 ", end_of_day=True) == start + 86400
    assert parse_day("") is None and parse_day(None) is None
    with pytest.raises(InputError, match="dates look like 2026-11-01, not '26/11/2026'"):
        parse_day("26/11/2026")
