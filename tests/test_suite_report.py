"""The suite's HTML (arena.suites.report): the matrix sorted, searched and kept readable, the text diff, run A
against run B, and the report page read back."""

from __future__ import annotations

import pytest

from arena.store import Run, Store
from arena.suites import report
from arena.suites.results import Change, Matrix, MatrixCell
from tests.helpers import output_record


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "data")
    yield store
    store.close()


def _cell(case_id: str, model: str, status="done", text="an answer", passed=True, total=1.0) -> MatrixCell:
    record = output_record("c", model=model, output="text", text=text)
    record.metrics = {"total_s": total}
    record.status = status
    return MatrixCell(run_id="r", case_id=case_id, model=model, sample=0, case_hash="h", status=status, cached=False,
                refused=False, checks=[{"check": "contains", "passed": passed, "detail": ""}], record=record)


def _matrix() -> Matrix:
    long_token = "x" * 400
    cells = {
        ("alpha", "m1"): [_cell("alpha", "m1", text=long_token, total=3.0)],
        ("alpha", "m2"): [_cell("alpha", "m2")],
        ("bravo", "m1"): [_cell("bravo", "m1", status="error", total=0.5)],
        ("bravo", "m2"): [_cell("bravo", "m2")],
        ("charlie", "m1"): [_cell("charlie", "m1", passed=False, total=9.0)],
        ("charlie", "m2"): [_cell("charlie", "m2", passed=False)],
    }
    return Matrix(run={"id": "r", "suite": "s", "version": 1, "started_at": 0, "status": "finished"},
                  cases=["charlie", "alpha", "bravo"], models=["m1", "m2"],
                  prompts={"alpha": "say hi", "bravo": "draw a fox", "charlie": "count to three"}, cells=cells)


def test_the_matrix_sorts_and_searches_cases():
    matrix = _matrix()
    assert matrix.arranged() == ["charlie", "alpha", "bravo"]
    assert matrix.arranged(sort="case") == ["alpha", "bravo", "charlie"]
    assert matrix.arranged(sort="status") == ["bravo", "charlie", "alpha"]
    assert matrix.arranged(sort="time") == ["charlie", "alpha", "bravo"]
    assert matrix.arranged(search="FOX") == ["bravo"]
    assert matrix.arranged(search="al") == ["alpha"]
    html = report.matrix_table(matrix, lambda record: None, search="nothing like it")
    assert "no case matches" in html


def test_the_matrix_keeps_columns_readable_and_long_tokens_inside_their_cell():
    html = report.matrix_table(_matrix(), lambda record: None)
    assert 'class="sx sx-scroll"' in html and f"min-width: {report.CASE_EM + 2 * report.COLUMN_EM}em" in html
    css = report.CSS
    assert "table-layout: fixed" in css and "box-sizing: border-box" in css and "overflow-wrap: anywhere" in css
    assert "overflow-x: auto" in css and "var(--body-text-color" in css and "#fef2f2" not in css


def test_the_report_is_one_page_in_the_readers_colours_that_loads_nothing(store):
    matrix = _matrix()
    matrix.run = Run(id="r", suite="<b>s</b>", version="1", source="", models=["m1", "m2"], judge=None,
                     started_at=0, finished_at=None, status="finished")
    page = report.report_page(store, matrix)
    assert "prefers-color-scheme: dark" in page and "default-src 'none'; img-src data:" in page
    assert "<title>&lt;b&gt;s&lt;/b&gt; v1</title>" in page and '<body class="sx">' in page
    assert ".sx .sx-diff > div" in page  # the stylesheet is not escaped, only what fills the page
    assert page.count('class="sx-cell') == 6 and "data-cell" not in page  # nothing to click in a file
    assert "--sx-bg: var(--card)" in page  # the matrix takes the page's colours, light or dark


def test_the_text_diff_marks_words_and_escapes_everything():
    html = report.text_diff("the cat sat <b>here</b>", "the dog sat <b>here</b> <script>x</script>", "A", "B")
    assert "<del>cat</del>" in html and "<ins>dog</ins>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html and "<b>here" not in html
    assert "only in A" in html and "only in B" in html


def test_run_a_against_run_b_shows_a_text_diff_of_a_changed_answer():
    before, after = _cell("greet", "m1", text="hello there"), _cell("greet", "m1", text="hello <i>spider</i>")
    html = report.changes_table([Change("greet", "m1", 0, before, after, ["a different answer"])], lambda r: None)
    assert "text diff, run A → run B" in html and "<ins>&lt;i&gt;spider&lt;/i&gt;</ins>" in html
    assert "<del>there</del>" in html and "<i>" not in html


def test_a_check_nobody_graded_is_said_and_never_counted_as_passed():
    from arena.store import RunCell
    from arena.suites.runner import summarise_cells

    checks = [{"check": "contains", "passed": True, "detail": ""},
              {"check": "judge", "passed": None, "detail": "no judge model chosen", "automatic": True}]
    cell = _cell("alpha", "m1")
    cell.checks = checks
    html = report.matrix_table(Matrix(run={"id": "r", "suite": "s", "version": 1, "started_at": 0,
                                           "status": "finished"}, cases=["alpha"], models=["m1"],
                                      prompts={"alpha": "say hi"}, cells={("alpha", "m1"): [cell]}, summary={}),
                               lambda path: path)
    assert "✓ 1/1" in html and "judge: not graded" in html
    [summary] = summarise_cells([RunCell("r", "alpha", "h", "m1", 0, "o", "done", False, False, checks)]).values()
    assert (summary.checks_passed, summary.checks_failed, summary.checks_not_graded) == (1, 0, 1)
    assert "<th>not graded</th>" in report.summary_table(Matrix(
        run={"id": "r"}, cases=[], models=["m1"], prompts={}, cells={}, summary={"m1": summary}))
