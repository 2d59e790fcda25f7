"""Reading suite runs back: the matrix and its filters, the report and JSON, a case over time, run A vs run B."""

from __future__ import annotations

import html
import json
import re

import pytest

from arena import sandbox
from arena.store import Store
from arena.suites import report
from arena.suites.model import load_suite
from arena.suites.results import Matrix, MatrixCell, case_history, compare_runs, load_cell, load_matrix
from arena.suites.runner import SuiteRun
from tests.conftest import LOOPBACK_KEY, OFFLINE_ENTRIES, openai_entry

SUITE = """name: drift
version: 1
defaults: {seed: 3}
cases:
  - {id: greet, prompt: "say hello <b>now</b>", checks: [{contains: hello}, {expects_answer: true}]}
  - {id: count, prompt: count to three, checks: [{regex: "thr+ee"}]}
  - {id: draw, prompt: a charming spider at work, expect: image, checks: [{produced_image: true}]}
"""


@pytest.fixture
def drift(loopback, keys, engine_factory, tmp_path):
    """Run A: two models answer, one errors. Run B: one of them now refuses, the erroring one now answers."""
    store = Store(tmp_path / "data")
    suite_file = tmp_path / "drift.yaml"
    suite_file.write_text(SUITE)
    suite = load_suite(suite_file)
    before = engine_factory([*OFFLINE_ENTRIES,
                             openai_entry(loopback, "steady", model="echo-steady"),
                             openai_entry(loopback, "shifty", model="echo-shifty"),
                             openai_entry(loopback, "flaky", model="fail500-flaky", max_retries=0)])
    before.store = store
    run_a = SuiteRun(before, suite, ["steady", "shifty", "flaky", "offline-sd"], source=str(suite_file))
    run_a.run()
    after = engine_factory([openai_entry(loopback, "steady", model="echo-steady"),
                            openai_entry(loopback, "shifty", model="refuse-shifty"),
                            openai_entry(loopback, "flaky", model="echo-flaky")])
    after.store = store
    run_b = SuiteRun(after, suite, ["steady", "shifty", "flaky"], source=str(suite_file), use_cache=False)
    run_b.run()
    return store, suite_file, run_a.run_id, run_b.run_id, after


def test_the_matrix_of_a_run_in_suite_order_with_its_filters(drift):
    store, _, run_a, run_b, _ = drift
    matrix = load_matrix(store, run_a)
    assert matrix.cases == ["greet", "count", "draw"]
    assert matrix.models == ["steady", "shifty", "flaky", "offline-sd"]
    [drawn] = matrix.cells[("draw", "offline-sd")]
    assert drawn.record.images and drawn.checks[0]["passed"] is True
    assert load_cell(store, run_a, "draw", "offline-sd", 0).record.images == drawn.record.images
    assert load_cell(store, run_a, "draw", "steady", 0) is None
    assert matrix.counts() == {"cells": 7, "errors": 2, "failures": 0, "cached": 0}
    assert matrix.shown("errors") == ["greet", "count"]
    assert matrix.shown("failures") == []
    assert matrix.shown("disagreements") == ["greet", "count"]  # flaky errored where the others answered
    later = load_matrix(store, run_b)
    assert later.shown("failures") == ["greet", "count"]  # the refusal says neither hello nor three
    assert later.summary["shifty"].refusal_rate == 1.0 and later.summary["steady"].refusal_rate == 0.0
    assert load_matrix(store, "no-such-run") is None
    with pytest.raises(ValueError, match="unknown filter"):
        matrix.shown("everything")


def test_disagreement_means_models_ended_differently():
    def cell(model, passed, refused=False, status="done"):
        checks = [{"check": "contains", "passed": passed}]
        return MatrixCell("r", "c", model, 0, "h", status, False, refused, checks, None)

    def matrix(*cells):
        return Matrix(run={}, cases=["c"], models=[c.model for c in cells], prompts={},
                      cells={("c", c.model): [c] for c in cells})

    assert matrix(cell("a", True), cell("b", True)).shown("disagreements") == []
    assert matrix(cell("a", True), cell("b", False)).shown("disagreements") == ["c"]
    assert matrix(cell("a", True), cell("b", True, refused=True)).shown("disagreements") == ["c"]
    assert matrix(cell("a", None, status="error"), cell("b", None)).shown("disagreements") == ["c"]


def test_run_a_against_run_b_says_what_changed_per_cell(drift):
    store, _, run_a, run_b, _ = drift
    changes = {(c.case_id, c.model): c.what for c in compare_runs(store, run_a, run_b)}
    assert changes[("greet", "shifty")] == ["new refusal", "check contains now fails",
                                            "check expects_answer now fails"]
    assert changes[("count", "shifty")] == ["new refusal", "check regex now fails"]
    assert changes[("greet", "flaky")] == ["no longer errors"]
    assert changes[("draw", "offline-sd")] == ["only in run A"]
    assert ("greet", "steady") not in changes  # the same answer: nothing to say
    back = {(c.case_id, c.model): c.what for c in compare_runs(store, run_b, run_a)}
    assert back[("greet", "shifty")][:2] == ["no longer refuses", "check contains now passes"]
    with pytest.raises(KeyError):
        compare_runs(store, run_a, "nope")


def test_a_case_across_runs_notices_an_edited_case(drift):
    store, suite_file, run_a, run_b, engine = drift
    suite_file.write_text(SUITE.replace("say hello <b>now</b>", "say hello twice"))
    edited = SuiteRun(engine, load_suite(suite_file), ["steady"], source=str(suite_file)).run_id
    SuiteRun(engine, load_suite(suite_file), ["steady"], run_id=edited).run()
    history = case_history(store, "greet", "drift")
    assert [row.run.id for row in history] == [run_a, run_b, edited]
    assert [row.edited for row in history] == [False, False, True]
    assert set(history[0].cells) == {"steady", "shifty", "flaky"}
    assert "twice" in history[2].cells["steady"][0].record.text
    assert case_history(store, "greet", "another-suite") == []


def test_the_report_is_one_self_contained_escaped_file_and_the_json_has_every_cell(drift):
    store, _, run_a, _, _ = drift
    matrix = load_matrix(store, run_a)
    page = report.report_page(store, matrix)
    assert "<script" not in page.lower() and "<b>now</b>" not in page and "&lt;b&gt;now&lt;/b&gt;" in page
    assert "default-src 'none'" in page
    assert re.search(r'src="data:image/webp;base64,[A-Za-z0-9+/=]{100,}"', page)  # the spider, inlined
    assert not re.search(r'(src|href)="(?!data:)', page)  # nothing loaded from anywhere
    data = json.loads(json.dumps(matrix.to_json()))
    assert [case["id"] for case in data["cases"]] == ["greet", "count", "draw"]
    greet = {cell["model"]: cell for cell in data["cases"][0]["cells"]}
    assert greet["flaky"]["status"] == "error" and greet["flaky"]["error"]
    assert greet["steady"]["text"].startswith("Hello from echo-steady") and greet["steady"]["seed"] == 3
    assert data["summary"]["steady"]["refusal_rate"] == 0.0 and data["counts"]["errors"] == 2


def test_the_app_matrix_escapes_text_and_points_at_thumbnails(drift):
    store, _, run_a, _, _ = drift
    html = report.matrix_table(load_matrix(store, run_a), report.file_url(store))
    assert "<b>now</b>" not in html
    thumbs = re.findall(r'src="gradio_api/file=([^"]+)"', html)
    assert len(thumbs) == 1 and thumbs[0].endswith(".webp")
    assert html.count('data-cell="') == 7


def test_pages_in_answers_are_found_and_framed_without_same_origin():
    answer = "Sure:\n```html\n<html><body><h1>Hi</h1><script>x()</script></body></html>\n```\nDone."
    page = sandbox.page_in(answer)
    assert page == "<html><body><h1>Hi</h1><script>x()</script></body></html>"
    assert sandbox.page_in("<!DOCTYPE html><p>whole</p>") == "<!DOCTYPE html><p>whole</p>"
    assert sandbox.page_in("no page here, just <b>bold</b> talk") is None
    markup = sandbox.frame(page)
    assert 'sandbox="allow-scripts"' in markup and "allow-same-origin" not in markup
    assert "<script>" not in markup and "&lt;script&gt;" in html.unescape(markup)  # only in the escaped srcdoc
    locked = sandbox.locked("<!doctype html><p>x</p>")
    assert locked.startswith('<!doctype html><meta http-equiv="Content-Security-Policy"')


def test_cli_runs_report_history_and_diff(drift, tmp_path, loopback):
    from tests.helpers import arena

    store, _, run_a, run_b, _ = drift
    env = {"ARENA_DATA_DIR": str(store.folder), "OPENAI_API_KEY": LOOPBACK_KEY}
    listed = arena("suite", "runs", env_extra=env)
    assert listed.returncode == 0 and listed.stdout.index(run_b) < listed.stdout.index(run_a)
    out = tmp_path / "out"
    written = arena("suite", "report", run_a, "--out", str(out / "a.html"), "--json", str(out / "a.json"),
                    env_extra=env)
    assert written.returncode == 0, written.stderr
    assert "Cases × models" in (out / "a.html").read_text()
    assert len(json.loads((out / "a.json").read_text())["cases"]) == 3
    history = arena("suite", "history", "greet", env_extra=env)
    assert history.returncode == 0 and history.stdout.count("run ") == 2 and "shifty" in history.stdout
    changed = arena("suite", "diff", run_a, run_b, env_extra=env)
    assert "new refusal" in changed.stdout and "no longer errors" in changed.stdout
    as_json = json.loads(arena("suite", "diff", run_a, run_b, "--json", env_extra=env).stdout)
    assert any(c["changes"][:2] == ["new refusal", "check contains now fails"] for c in as_json)
    assert arena("suite", "report", "nope", env_extra=env).returncode == 2
