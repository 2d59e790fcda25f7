"""Prompt suites: parsing with precise errors, runs with checks, refusal rates, the cache, and resuming."""

from __future__ import annotations

import json
import threading

import pytest

from arena.errors import InputError
from arena.store import Filter, Store
from arena.suites.model import SuiteError, load_suite
from arena.suites.runner import SuiteRun, resume, summarise
from tests.apprunner import write_catalog
from tests.conftest import LOOPBACK_KEY, OFFLINE_ENTRIES, ROOT, openai_entry
from tests.helpers import arena, wait_until

SEED = ROOT / "prompts" / "seed.yaml"


def test_the_seed_suite_parses_and_covers_what_started_the_project():
    suite = load_suite(SEED)
    ids = {case.id for case in suite.cases}
    assert {"spider-draw", "spider-describe", "scene-recognise", "scene-flipped", "scene-rotated", "captcha-read",
            "sketch-to-html"} <= ids
    assert sum("over-refusal" in case.tags for case in suite.cases) >= 3
    spider = next(c for c in suite.cases if c.id == "spider-draw")
    assert spider.prompt == "a charming spider at work" and spider.expect == "image"
    assert len({suite.case_hash(c) for c in suite.cases}) == len(suite.cases)


@pytest.mark.parametrize("cases, message", [
    ("- {id: a}", "case 'a': prompt is missing (a case needs id and prompt)"),
    ("- {id: a, prompt: hi, checks: [{contains: x, regex: y}]}", "case 'a', check 1: a check names exactly one kind"),
    ("- {id: a, prompt: hi, checks: [{regex: '('}]}", "case 'a', check 1: regex '(' does not compile"),
    ("- {id: a, prompt: hi, image: ../arena/engine.py}", "case 'a': image '../arena/engine.py' lies outside assets/"),
    ("- {id: a, prompt: hi, image: nope.png}", "case 'a': image 'nope.png' is not in assets/"),
    ("- {id: a, prompt: hi, expect: video}", "case 'a': expect must be 'text' or 'image', not 'video'"),
    ("- {id: a, prompt: hi, params: {temperature: 7}}", "case 'a', params: temperature must be at most 2, not 7"),
    ("- {id: a, prompt: hi}\n  - {id: a, prompt: ho}", "case ids must be unique: 'a' is used by more than one case"),
    ("- {id: 'Bad Id', prompt: hi}", "case 1: id 'Bad Id' may hold only lower-case letters"),
    ("- {id: a, prompt: hi, colour: red}", "case 'a': unknown field 'colour' (known: id, prompt,"),
])
def test_malformed_suites_name_the_file_case_and_field(tmp_path, cases, message):
    path = tmp_path / "bad.yaml"
    path.write_text(f"name: t\nversion: 1\ncases:\n  {cases}\n")
    with pytest.raises(SuiteError) as refused:
        load_suite(path)
    assert str(refused.value).startswith(str(path)) and message in str(refused.value)


def test_a_changed_case_gets_a_new_hash(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: t\nversion: 1\ncases:\n  - {id: a, prompt: hi, params: {seed: 1}}\n")
    before = load_suite(path)
    path.write_text("name: t\nversion: 1\ncases:\n  - {id: a, prompt: hi!, params: {seed: 1}}\n")
    after = load_suite(path)
    assert before.case_hash(before.cases[0]) != after.case_hash(after.cases[0])


@pytest.fixture
def suite_engine(loopback, keys, engine_factory, tmp_path):
    engine = engine_factory(OFFLINE_ENTRIES + [
        openai_entry(loopback, "helpful", model="echo-suite"),
        openai_entry(loopback, "cautious", model="refuse-suite"),
        openai_entry(loopback, "flaky", model="fail500-suite", max_retries=0),
        openai_entry(loopback, "grader", model="judge-suite"),
    ])
    engine.store = Store(tmp_path / "data")
    return engine


def test_seed_suite_run_stores_every_cell_with_checks_refusals_and_a_judge(suite_engine, loopback):
    suite = load_suite(SEED)
    models = ["offline-pixtral", "offline-sd", "helpful", "cautious", "flaky"]
    runner = SuiteRun(suite_engine, suite, models, judge="grader", concurrency=4)
    results = runner.run()
    text_cases = [c for c in suite.cases if c.expect == "text"]
    image_cases = [c for c in suite.cases if c.expect == "image"]
    assert len(results) == len(text_cases) * 4 + len(image_cases) == len(runner.cells())
    store = suite_engine.store
    assert store.query(Filter(run_id=runner.run_id))[1] == len(results)
    assert store.get_run(runner.run_id).status == "finished"

    summary = summarise(store, runner.run_id)
    assert summary["cautious"].refusal_rate == 1.0 and summary["helpful"].refusal_rate == 0.0
    assert summary["cautious"].should_answer == sum(
        any(ch.expects_answer for ch in c.checks) for c in text_cases)
    assert summary["flaky"].errors == len(text_cases)
    by_cell = {(r.case_id, r.model): r for r in results}
    drawing = by_cell[("spider-draw", "offline-sd")]
    produced, judged = drawing.checks
    assert produced.passed is True
    assert judged.automatic and judged.passed is True and judged.score == 8.0
    describe = by_cell[("spider-describe", "helpful")]
    assert [c.passed for c in describe.checks] == [True, True]  # the echo quotes "spider"; it answered
    assert by_cell[("captcha-read", "flaky")].checks[0].passed is None  # an error is not a failed check

    # The same run again comes from the cache, except the errors, which are never cached.
    flaky_requests = loopback.count("fail500-suite")
    again = SuiteRun(suite_engine, suite, models, judge="grader")
    second = again.run()
    assert all(r.cached for r in second if r.status == "done")
    assert not any(r.cached for r in second if r.model == "flaky")
    assert loopback.count("fail500-suite") == flaky_requests + len(text_cases)
    assert len(second) == len(results)


def test_samples_are_separate_and_unseeded_sampling_is_never_cached(suite_engine, loopback, tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: samples\nversion: 1\ncases:\n"
                    "  - {id: free, prompt: tell me a joke, samples: 3, params: {temperature: 1}}\n"
                    "  - {id: fixed, prompt: tell me a fact, samples: 2, params: {seed: 5}}\n")
    suite = load_suite(path)
    first = SuiteRun(suite_engine, suite, ["helpful"]).run()
    assert sorted((r.case_id, r.sample) for r in first) == [("fixed", 0), ("fixed", 1), ("free", 0), ("free", 1),
                                                             ("free", 2)]
    assert len({r.output_id for r in first}) == 5
    second = SuiteRun(suite_engine, suite, ["helpful"]).run()
    assert {(r.case_id, r.cached) for r in second} == {("free", False), ("fixed", True)}
    seeds = [suite_engine.store.get(r.output_id).used["seed"] for r in first if r.case_id == "fixed"]
    assert sorted(seeds) == [5, 6]  # each sample its own seed, so N samples never collapse into one
    assert SuiteRun(suite_engine, suite, ["helpful"], use_cache=False).run()[0].cached is False


def test_an_interrupted_run_keeps_what_finished_and_resumes_the_rest(suite_engine, loopback, tmp_path, engine_factory):
    engine = engine_factory([openai_entry(loopback, "slow", model="wait300-resume")])
    engine.store = suite_engine.store
    path = tmp_path / "s.yaml"
    path.write_text("name: resumable\nversion: 1\ndefaults: {seed: 1}\ncases:\n" + "".join(
        f"  - {{id: case-{i}, prompt: question {i}}}\n" for i in range(8)))
    suite = load_suite(path)
    runner = SuiteRun(engine, suite, ["slow"], concurrency=2)
    worker = threading.Thread(target=runner.run)
    worker.start()
    wait_until(lambda: len(runner.cells()) - len(runner.pending()) >= 2, timeout=20, what="two finished cells")
    runner.stop()
    worker.join(20)
    done_before = len(runner.cells()) - len(runner.pending())
    assert 2 <= done_before < 8
    assert engine.store.get_run(runner.run_id).status == "interrupted"
    requests_before = loopback.count("wait300-resume")

    resumed = resume(engine, runner.run_id, suite, use_cache=False)
    results = resumed.run()
    assert len(results) == 8 - done_before and resumed.pending() == []
    assert loopback.count("wait300-resume") == requests_before + len(results)
    assert engine.store.get_run(runner.run_id).status == "finished"
    with pytest.raises(InputError, match="no suite run"):
        resume(engine, "nope", suite)


def test_cli_suite_run_and_show(tmp_path, loopback):
    catalog = write_catalog(tmp_path / "c.yaml", [openai_entry(loopback, "helpful", model="echo-cli"),
                                                  openai_entry(loopback, "flaky", model="fail500", max_retries=0)])
    env = {"ARENA_CATALOG": str(catalog), "OPENAI_API_KEY": LOOPBACK_KEY, "ARENA_DATA_DIR": str(tmp_path / "d")}
    suite = tmp_path / "s.yaml"
    suite.write_text("name: cli\nversion: 1\ndefaults: {seed: 3}\ncases:\n"
                     "  - {id: one, prompt: say hello, checks: [{contains: hello}]}\n")
    ok = arena("suite", "run", str(suite), "--models", "helpful", env_extra=env)
    assert ok.returncode == 0, ok.stderr
    run_id = ok.stderr.split()[1].rstrip(":")
    shown = json.loads(arena("suite", "show", run_id, "--json", env_extra=env).stdout)
    assert shown["cells"][0]["checks"][0]["passed"] is True and shown["run"]["status"] == "finished"
    assert shown["run"]["source"] == str(suite.resolve())  # in full: the Suites tab resumes it from anywhere
    failing = arena("suite", "run", str(suite), "--models", "helpful,flaky", env_extra=env)
    assert failing.returncode == 1 and "1 errors" in failing.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nversion: 1\ncases: [{id: a}]\n")
    refused = arena("suite", "run", str(bad), "--models", "helpful", env_extra=env)
    assert refused.returncode == 2 and "case 'a': prompt is missing" in refused.stderr


def test_ctrl_c_stops_a_cli_suite_run_at_once_and_marks_it_interrupted(tmp_path, loopback):
    import os
    import signal
    import subprocess
    import sys

    catalog = write_catalog(tmp_path / "c.yaml", [openai_entry(loopback, "slow", model="wait1500-ctrl-c")])
    env = {**os.environ, "ARENA_CATALOG": str(catalog), "OPENAI_API_KEY": LOOPBACK_KEY,
           "ARENA_DATA_DIR": str(tmp_path / "d")}
    suite = tmp_path / "s.yaml"
    suite.write_text("name: long\nversion: 1\ndefaults: {seed: 3}\ncases:\n" + "".join(
        f"  - {{id: c{i}, prompt: question {i}}}\n" for i in range(12)))
    process = subprocess.Popen([sys.executable, "-m", "arena", "suite", "run", str(suite), "--models", "slow",
                                "--concurrency", "2", "--no-cache"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    wait_until(lambda: loopback.count("wait1500-ctrl-c") >= 2, timeout=60, what="the first cells under way")
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    run_id = stderr.split()[1].rstrip(":")
    assert stderr.endswith(f"arena: interrupted; resume with --resume {run_id}\n")
    assert loopback.count("wait1500-ctrl-c") <= 4  # the queued cells never started (12 would run without the fix)
    store = Store(tmp_path / "d")
    try:
        assert store.get_run(run_id).status == "interrupted"
    finally:
        store.close()
    resumed = arena("suite", "run", str(suite), "--resume", run_id, "--no-cache", env_extra=env)
    assert resumed.returncode == 0, resumed.stderr
    assert "cells to do" in resumed.stderr and " 0 of 12 " not in resumed.stderr
