"""Issue 10: hostile files and servers get one clear sentence, never a traceback, a hang or a false "done"."""

from __future__ import annotations

import pytest

from arena.catalog import Catalog, CatalogError
from arena.request import Request
from arena.store import OutputRecord
from arena.suites.checks import evaluate
from arena.suites.model import Check, SuiteError, load_suite
from tests.apprunner import environment, running_app, write_catalog
from tests.conftest import LOOPBACK_KEY, ROOT, mistral_entry, openai_entry
from tests.helpers import arena

# --- 13: a stream that ends without a finish reason is not "done" ------------------------------------------------


@pytest.mark.parametrize("flavour", ["openai", "mistral"])
def test_a_stream_closed_without_a_chunk_is_an_error_in_plain_words(loopback, keys, engine_factory, flavour):
    make = openai_entry if flavour == "openai" else mistral_entry
    engine = engine_factory([make(loopback, "silent", model="emptystream", max_retries=0)])
    [pane] = engine.start(Request("hello"), ["silent"]).wait()
    assert pane.status == "error"
    assert pane.error == "the server closed the stream without an answer"
    assert pane.text == ""


@pytest.mark.parametrize("flavour", ["openai", "mistral"])
def test_a_stream_closed_without_a_finish_reason_is_cut_off_and_keeps_its_text(loopback, keys, engine_factory,
                                                                              flavour):
    make = openai_entry if flavour == "openai" else mistral_entry
    engine = engine_factory([make(loopback, "cut", model="nofinish", max_retries=0)])
    [pane] = engine.start(Request("hello"), ["cut"]).wait()
    assert pane.status == "error" and pane.error.startswith("cut off:")
    assert pane.text.startswith("Hello from nofinish.")


@pytest.mark.parametrize("flavour", ["openai", "mistral"])
@pytest.mark.parametrize("stream", [True, False])
def test_a_context_length_refusal_is_shown_as_the_server_says_it(loopback, keys, engine_factory, flavour, stream):
    make = openai_entry if flavour == "openai" else mistral_entry
    engine = engine_factory([make(loopback, "small", model="context400", max_retries=0)])
    [pane] = engine.start(Request("hello", stream=stream), ["small"]).wait()
    assert pane.status == "error" and "HTTP 400" in pane.error
    assert "maximum context length is 512 tokens" in pane.error


# --- 7: regex checks cannot pin a core ---------------------------------------------------------------------------


def _record(text: str) -> OutputRecord:
    return OutputRecord(id="x", comparison_id="c", created_at=0.0, model="m", kind="openai-chat", output="text",
                        status="done", prompt="p", input_image=None, text=text, error=None, images=[], thumb=None,
                        entry={}, params={}, used={}, versions={}, metrics={}, notices=[])


@pytest.mark.timeout(20)
def test_a_catastrophic_regex_check_ends_with_an_outcome():
    result = evaluate(Check(regex="(a+)+b"), _record("a" * 100_000))
    assert result.passed is False and result.detail == "no match"
    assert evaluate(Check(regex="(?:x|a)+$"), _record("a" * 100_000)).passed is True


def test_regex_checks_keep_their_case_insensitive_multiline_meaning():
    assert evaluate(Check(regex=r"^spider\b"), _record("A web\nSpider at work")).passed is True


def test_a_pattern_the_safe_engine_cannot_run_is_refused_when_the_suite_loads(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: t\nversion: 1\ncases:\n  - {id: a, prompt: hi, checks: [{regex: '(a)\\1'}]}\n")
    with pytest.raises(SuiteError, match="unsupported pattern"):
        load_suite(path)


# --- 8 and 10: YAML files that are slow, huge, deep, or not text --------------------------------------------------

LAUGHS = "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8))


@pytest.mark.timeout(20)
@pytest.mark.parametrize("content, message", [
    (LAUGHS.encode(), "once its aliases are expanded"),
    (b"name: " + b"[" * 20_000 + b"]" * 20_000, "nested more than"),
    (b"name: caf\xe9\nversion: 1\n", "is not UTF-8 text"),
    (b"name: t\n" + b"# padding\n" * 500_000, "larger than 4 MB"),
    (b"name: t\nversion: 1\ncases: [\n", "is not valid YAML"),
], ids=["billion-laughs", "nested-20000", "not-utf8", "over-4mb", "yaml-error"])
@pytest.mark.parametrize("kind", ["suite", "catalog"])
def test_hostile_yaml_gets_one_sentence(tmp_path, content, message, kind):
    path = tmp_path / "hostile.yaml"
    path.write_bytes(content)
    error = SuiteError if kind == "suite" else CatalogError
    with pytest.raises(error) as refused:
        load_suite(path) if kind == "suite" else Catalog.load(path)
    assert message in str(refused.value) and str(path) in str(refused.value)


def test_an_empty_catalog_is_refused_with_a_sentence(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("models: []\n")
    with pytest.raises(CatalogError, match="the 'models:' list is empty"):
        Catalog.load(path)


# --- 9: `suite report` names its file from a safe slug, in the working folder -------------------------------------


@pytest.mark.parametrize("name", ["../../escaped", "x" * 400, "nul\x00name", "/etc/passwd", "..", "…"],
                         ids=["parent", "long", "nul", "absolute", "dots", "nothing-usable"])
def test_suite_report_default_file_stays_in_the_working_folder(tmp_path, monkeypatch, loopback, keys,
                                                              engine_factory, name, capsys):
    import argparse

    from arena.cli.suite import write_report
    from arena.store import Store
    from arena.suites.model import Suite
    from arena.suites.runner import SuiteRun

    engine = engine_factory([openai_entry(loopback, "helpful", model="echo")])
    engine.store = Store(tmp_path / "data")
    suite = Suite.model_validate({"name": name, "version": 1, "cases": [{"id": "a", "prompt": "hi"}]})
    runner = SuiteRun(engine, suite, ["helpful"])
    runner.run()
    work = tmp_path / "work" / "deeper"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    args = argparse.Namespace(run_id=runner.run_id, out=None, json=None, no_html=False)
    assert write_report(engine.store, args) == 0
    [written] = list(work.iterdir())
    assert written.suffix == ".html" and runner.run_id in written.name and len(written.name) < 120
    assert not any(p.suffix == ".html" for p in (tmp_path / "work").iterdir())
    assert capsys.readouterr().out.strip() == written.name


# --- 12: comparisons a killed process left without outputs are cleaned with the rest of recovery -----------------


def test_recovery_removes_comparisons_left_without_outputs(tmp_path, loopback, keys, engine_factory):
    from PIL import Image

    from arena.images import InputImage
    from arena.store import Store

    store = Store(tmp_path / "data", orphan_grace_s=0)
    engine = engine_factory([openai_entry(loopback, "helpful", model="echo")])
    engine.store = store
    engine.start(Request("kept"), ["helpful"]).wait()
    picture = InputImage(Image.new("RGB", (8, 8), (1, 2, 3)))
    killed = store.start_comparison(Request("the process died here", picture), ["helpful"])  # no output ever
    db = store.connection()
    assert db.execute("SELECT COUNT(*) FROM comparisons").fetchone()[0] == 2

    assert Store(tmp_path / "data", orphan_grace_s=0).recover()["empty_comparisons"] == 0  # too young to judge
    cleaned = Store(tmp_path / "data", orphan_grace_s=0, recover=False).recover(empty_comparison_grace_s=0)
    assert cleaned["empty_comparisons"] == 1 and cleaned["orphans"] >= 1  # its input image went with it
    assert [r[0] for r in db.execute("SELECT prompt FROM comparisons")] == ["kept"]
    assert db.execute("SELECT COUNT(*) FROM comparisons WHERE id = ?", (killed,)).fetchone()[0] == 0
    assert not store.images.exists(picture.sha256)


# --- 11: a chain's whole plan is checked before any model is called -----------------------------------------------


def test_describe_then_draw_too_large_is_refused_before_any_model_runs(tmp_path, loopback, keys, engine_factory):
    from arena.chains import DescribeThenDraw
    from arena.errors import InputError
    from arena.store import Store

    describers = [f"describer{i}" for i in range(6)]
    drawers = [f"drawer{i}" for i in range(3)]
    engine = engine_factory([openai_entry(loopback, name, model=f"echo-plan-{name}") for name in describers]
                            + [{"name": name, "kind": "openai-image", "model": f"img-plan-{name}",
                                "base_url": loopback.v1} for name in drawers])
    engine.store = Store(tmp_path / "data")
    before = len(loopback.requests)
    with pytest.raises(InputError, match="6 describers × 3 generators make 18 pictures; at most 12"):
        DescribeThenDraw(engine, "a spider", describers, drawers).run()
    assert len(loopback.requests) == before and engine.store.count() == 0


# --- 10 and 13: compare --out is checked before any model runs, and gets a file for every model ------------------


def test_compare_out_at_a_file_or_an_unwritable_place_is_refused_before_models_run(tmp_path, loopback):
    catalog = write_catalog(tmp_path / "c.yaml", [openai_entry(loopback, "early", model="echo-out-check")])
    env = {"OPENAI_API_KEY": LOOPBACK_KEY}
    taken = tmp_path / "taken.md"
    taken.write_text("mine")
    for out, says in ((taken, "is a file; give a folder"), (taken / "sub", "cannot write to --out")):
        result = arena("--catalog", str(catalog), "compare", "hi", "--models", "early", "--out", str(out),
                       env_extra=env)
        assert result.returncode == 2 and says in result.stderr and "Traceback" not in result.stderr
    assert loopback.count("echo-out-check") == 0 and taken.read_text() == "mine"


def test_compare_out_writes_a_file_for_every_model_errors_included(tmp_path, loopback):
    catalog = write_catalog(tmp_path / "c.yaml", [
        openai_entry(loopback, "fine", model="echo"),
        openai_entry(loopback, "silent", model="emptystream", max_retries=0),
        openai_entry(loopback, "cut", model="nofinish", max_retries=0),
    ])
    out = tmp_path / "out"
    result = arena("--catalog", str(catalog), "compare", "hi", "--models", "fine,silent,cut", "--out", str(out),
                   env_extra={"OPENAI_API_KEY": LOOPBACK_KEY})
    assert result.returncode == 1, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["cut.md", "fine.md", "silent.md"]
    assert "the server closed the stream without an answer" in (out / "silent.md").read_text()
    cut = (out / "cut.md").read_text()
    assert cut.startswith("Hello from nofinish.") and "cut off" in cut


# --- 10: bad API arguments get a sentence, not a bare "Error" -----------------------------------------------------


@pytest.fixture(scope="module")
def api_app(tmp_path_factory, loopback):
    from gradio_client import Client

    folder = tmp_path_factory.mktemp("api")
    catalog = write_catalog(folder / "catalog.yaml", [openai_entry(loopback, "lb-echo", model="echo")])
    with environment(ARENA_DATA_DIR=str(folder / "data"), OPENAI_API_KEY=LOOPBACK_KEY), \
            running_app(catalog) as (url, engine):
        yield url, Client(url, verbose=False), loopback


def _raw_call(url: str, *data) -> str:
    """/compare called over plain HTTP, as any client could: what the server says when it refuses."""
    import json
    import urllib.request

    posted = urllib.request.Request(f"{url}/gradio_api/call/compare", data=json.dumps({"data": list(data)}).encode(),
                                    headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(posted, timeout=30) as answer:
        event_id = json.load(answer)["event_id"]
    with urllib.request.urlopen(f"{url}/gradio_api/call/compare/{event_id}", timeout=60) as stream:
        return stream.read().decode()


def test_a_malformed_model_list_gets_a_sentence(api_app):
    from gradio_client.exceptions import AppError

    _, client, _ = api_app
    with pytest.raises(AppError, match="models must be a list of model names"):
        client.predict(prompt="hi", models="[lb-echo", api_name="/compare")


@pytest.mark.parametrize("shape", ["path", "url", "filedata-path", "filedata-url"])
def test_an_image_given_as_a_server_path_or_url_is_refused_and_never_read(api_app, tmp_path, shape):
    from PIL import Image

    from arena.ui.api_files import SERVER_PATH_REFUSED

    url, _, loopback = api_app
    private = tmp_path / "private.png"
    Image.new("RGB", (16, 16), (7, 7, 7)).save(private)
    where = str(private) if shape.endswith("path") else f"{loopback.url}/fetch-me.png"
    image = {"path": where, "meta": {"_type": "gradio.FileData"}} if shape.startswith("filedata") else where
    before = len(loopback.requests)
    said = _raw_call(url, "hi", ["lb-echo"], image, None)
    assert "event: error" in said
    if shape != "filedata-path":  # that one Gradio itself refuses first, in its own (hidden) words
        assert SERVER_PATH_REFUSED in said, said
    assert len(loopback.requests) == before  # no model was called, no URL fetched


def test_an_uploaded_image_still_reaches_the_models(api_app):
    from gradio_client import handle_file

    _, client, _ = api_app
    result = client.predict(prompt="hi", models=["lb-echo"], image=handle_file(str(ROOT / "assets" / "scene.png")),
                            api_name="/compare")
    assert result["panes"][0]["text"].startswith("Hello from echo. I got an image."), result
