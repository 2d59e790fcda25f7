"""Rough edges a user met in the CLI and suite files: suite errors in plain words (the CLI and the Suites tab
alike), a users file that is not there, a sweep value below its bound, Ctrl-C, and an interrupted sweep's --out."""

from __future__ import annotations

import pytest

from arena.suites.model import SuiteError, load_suite
from tests.helpers import arena

# --- 1. suite-file errors: where, what is wrong, what is allowed ------------------------------------------------

SUITE_HEAD = "name: t\nversion: 1\n"


@pytest.mark.parametrize("body, said", [
    ("cases:\n  - id: spider\n    prompt: a spider\n    checks:\n      - contian: spider\n",
     "case 'spider', check 1: unknown check 'contian', did you mean 'contains'? (known: contains, not_contains, "
     "regex, produced_image, expects_refusal, expects_answer, judge)"),
    ("cases:\n  - {id: spider, prompt: hi, samples: many}\n",
     "case 'spider': samples must be a whole number, not 'many'"),
    ("cases:\n  - {id: spider, prompt: hi, params: {seed: -5}}\n",
     "case 'spider', params: seed must be at least 0, not -5"),
    ("cases:\n  - {id: spider}\n", "case 'spider': prompt is missing (a case needs id and prompt)"),
    ("cases:\n  - {prompt: hi}\n", "case 1: id is missing (a case needs id and prompt)"),
    ("cases:\n  - {id: spider, prompt: hi, expect: video}\n",
     "case 'spider': expect must be 'text' or 'image', not 'video'"),
    ("cases: []\n", "the suite has no cases: list at least one under cases, each with an id and a prompt"),
    ("cses: []\n", "unknown field 'cses', did you mean 'cases'? (known: name, version, description, defaults, cases)"),
    ("defaults: {sead: 3}\ncases: [{id: a, prompt: hi}]\n", "defaults: unknown parameter 'sead', did you mean 'seed'?"),
    ("cases:\n  - hello\n", "case 1: a case must be a mapping such as {id: spider, prompt: a charming spider}"),
    ("cases:\n  - {id: a, prompt: hi}\n  - {id: b, prompt: hi, checks: [{}]}\n",
     "case 'b', check 1: a check names exactly one kind (contains, not_contains, regex, produced_image, "
     "expects_refusal, expects_answer, judge), but this one names none"),
    ("cases:\n  - {id: a, prompt: hi, tags: [x, [1]]}\n", "case 'a': tags item 2 must be text, not a list"),
    ("cases:\n  - {id: a, prompt: hi, image: scnee.png}\n",
     "case 'a': image 'scnee.png' is not in assets/ (did you mean 'scene.png'?): a case's image is a file in "
     "Arena's assets/ folder, beside app.py, not beside the suite file"),
], ids=["unknown-check", "wrong-type", "out-of-range", "missing", "missing-id", "bad-enum", "empty-cases",
        "unknown-field", "unknown-parameter", "case-not-a-mapping", "empty-check", "tag-not-text", "image-typo"])
def test_a_suite_file_error_is_one_plain_sentence(tmp_path, body, said):
    path = tmp_path / "bad.yaml"
    path.write_text(SUITE_HEAD + body)
    with pytest.raises(SuiteError) as refused:
        load_suite(path)
    message = str(refused.value)
    assert message.startswith(f"{path}: ") and said in message, message
    for pydantic_words in ("Extra inputs", "Input should", "Field required", "Value error", "List should", ".0."):
        assert pydantic_words not in message


def test_a_version_of_the_wrong_type_is_said_once_with_what_it_may_be(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: t\nversion: [1]\ncases: [{id: a, prompt: hi}]\n")
    with pytest.raises(SuiteError, match=r": version must be a whole number or text, not a list$"):
        load_suite(path)


def test_many_problems_are_counted_past_the_first_five(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(SUITE_HEAD + "cases:\n" + "".join(f"  - {{id: c{i}}}\n" for i in range(8)))
    with pytest.raises(SuiteError) as refused:
        load_suite(path)
    assert str(refused.value).count("prompt is missing") == 5 and str(refused.value).endswith("; and 3 more problems")


def test_suite_run_says_the_sentence_in_one_line(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text(SUITE_HEAD + "cases:\n  - id: spider\n    prompt: a spider\n    checks:\n      - contian: spider\n")
    refused = arena("--data-dir", str(tmp_path / "data"), "suite", "run", str(path), "--models", "offline-pixtral")
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.startswith(f"arena: {path}: case 'spider', check 1: unknown check 'contian'")
    assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr


def test_the_suites_tab_shows_the_same_sentence(engine_factory, tmp_path):
    import gradio as gr

    from arena.store import Store
    from arena.ui.suites import SuitesView
    from arena.ui.words import md
    from tests.conftest import OFFLINE_ENTRIES

    folder = tmp_path / "suites"
    folder.mkdir()
    path = folder / "typo.yaml"
    path.write_text(SUITE_HEAD + "cases:\n  - id: spider\n    prompt: a spider\n    checks:\n      - contian: spider\n")
    view = SuitesView(engine_factory(OFFLINE_ENTRIES, suites_dirs=[folder]), Store(tmp_path / "data"))
    with gr.Blocks():
        view.build()
    with pytest.raises(SuiteError) as refused:
        load_suite(path)
    assert "unknown check 'contian'" in str(refused.value)
    assert view._describe(str(path)) == f"**Cannot read the suite:** {md(refused.value)}"
    [update] = list(view.run(str(path), ["offline-pixtral"], "", 1, True, "all", None))
    assert update[view.message] == f"**Cannot run the suite:** {md(refused.value)}"


# --- 2. a users file or folder that is not there ----------------------------------------------------------------

def _users(tmp_path, *args, stdin=""):
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {**os.environ, "ARENA_DATA_DIR": str(tmp_path / "data")}
    env.pop("ARENA_USERS_FILE", None)
    return subprocess.run([sys.executable, "-m", "arena", "users", *args], input=stdin, capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=120)


def test_listing_a_users_file_that_is_not_there_says_so(tmp_path):
    typo = tmp_path / "typo.toml"
    listed = _users(tmp_path, "list", "--file", str(typo))
    assert listed.returncode == 1 and listed.stdout == ""
    assert listed.stderr == f"arena: no users file at {typo}: `python -m arena users add NAME --file {typo}` makes it\n"
    folder = _users(tmp_path, "list", "--file", str(tmp_path))
    assert folder.returncode == 1 and folder.stderr == f"arena: {tmp_path} is a folder, not a users file " \
                                                       f"(e.g. {tmp_path / 'users.toml'})\n"


def test_adding_or_removing_in_a_missing_folder_changes_nothing(tmp_path):
    missing = tmp_path / "nowhere" / "users.toml"
    added = _users(tmp_path, "add", "alice", "--file", str(missing), stdin="correct horse\n")
    assert added.returncode == 1
    assert added.stderr == f"arena: no folder {missing.parent} for the users file {missing}: make it first, or " \
                           "check the path\n"
    removed = _users(tmp_path, "remove", "alice", "--file", str(missing))
    assert removed.returncode == 1
    assert removed.stderr == f"arena: no users file at {missing}, nor its folder {missing.parent}\n"
    assert not missing.parent.exists()  # no folder made, no lock file left


def test_adding_to_a_new_file_says_it_is_new(tmp_path):
    fresh = tmp_path / "team.toml"
    added = _users(tmp_path, "add", "alice", "--file", str(fresh), stdin="correct horse\n")
    assert added.returncode == 0 and added.stderr == f"added alice in a new users file, {fresh}\n"
    again = _users(tmp_path, "add", "bob", "--file", str(fresh), stdin="correct horse\n")
    assert again.stderr == f"added bob in {fresh}\n"
    assert _users(tmp_path, "add", "carol", stdin="correct horse\n").returncode == 0  # the data folder is made


# --- 3. a sweep value below (or above) its bound says the bound ---------------------------------------------------

@pytest.mark.parametrize("text, said", [
    ("seed=-5", "The seed axis: seed -5 is out of range (seed must be at least 0)."),
    ("seed=1,\u22122", "The seed axis: seed -2 is out of range (seed must be at least 0)."),
    ("seed=5000000000", "The seed axis: seed 5000000000 is out of range (seed must be at most 4294967295)."),
    ("steps=-1", "The steps axis: steps -1 is out of range (steps must be at least 1)."),
    ("max_tokens=-3", "The max tokens axis: max tokens -3 is out of range (max tokens must be at least 1)."),
    ("size=512x8", "The size axis: 512×8 is out of range (height must be at least 16)."),
])
def test_a_sweep_value_out_of_bounds_says_the_bound(text, said):
    from arena.errors import InputError
    from arena.sweeps import parse_axis

    with pytest.raises(InputError) as refused:
        parse_axis(text, "a cat")
    assert str(refused.value) == said


def test_compare_with_a_negative_seed_sweep_says_the_bound(tmp_path):
    refused = arena("--data-dir", str(tmp_path), "compare", "a cat", "--models", "offline-sd", "--sweep", "seed=-5")
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr == "arena: The seed axis: seed -5 is out of range (seed must be at least 0).\n"


# --- 4 and 5. Ctrl-C: exit 130 and one line; an interrupted sweep writes only what finished, and no grid -------------

def _started(tmp_path, loopback, *args: str):
    """``python -m arena ARGS`` against loopback models: quick (answers at once), slow (answers after a minute),
    critic (slow, takes an image) and painter (pictures). The slow ones' model ids end in the test's folder name:
    the loopback server counts requests by model id, and serves every test of the session."""
    import os
    import signal  # noqa: F401 - the caller sends SIGINT
    import subprocess
    import sys

    from tests.apprunner import write_catalog
    from tests.conftest import LOOPBACK_KEY, ROOT, openai_entry

    catalog = write_catalog(tmp_path / "catalog.yaml", [
        openai_entry(loopback, "quick", model="echo"), openai_entry(loopback, "slow", model=_slow(tmp_path, "slow")),
        openai_entry(loopback, "critic", model=_slow(tmp_path, "critic"), image_input=True),
        openai_entry(loopback, "painter", kind="openai-image", model="gpt-image-1")])
    env = {**os.environ, "ARENA_CATALOG": str(catalog), "OPENAI_API_KEY": LOOPBACK_KEY,
           "ARENA_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "arena", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _slow(tmp_path, name: str) -> str:
    return f"wait60000-{name}-{tmp_path.name}"


def _interrupt(process) -> tuple[str, str]:
    import signal

    process.send_signal(signal.SIGINT)
    return process.communicate(timeout=60)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("args, model", [
    (("compare", "hi", "--models", "quick,slow"), "slow"),
    (("chain", "describe-draw", "a cat", "--describe", "slow", "--draw", "painter"), "slow"),
    (("chain", "critique", "assets/scene.png", "--models", "critic"), "critic"),
    (("compare", "hi", "--models", "slow", "--sweep", "seed=1,2"), "slow"),
], ids=["compare", "describe-draw", "critique", "sweep"])
def test_ctrl_c_ends_a_command_with_130_and_one_line(tmp_path, loopback, args, model):
    from tests.helpers import wait_until

    process = _started(tmp_path, loopback, *args)
    wait_until(lambda: loopback.count(_slow(tmp_path, model)) >= 1, timeout=60, what="the slow model asked")
    stdout, stderr = _interrupt(process)
    assert process.returncode == 130, (stdout, stderr)
    assert stderr.endswith("arena: interrupted; keeping what finished\n") and "Traceback" not in stderr


def test_ctrl_c_anywhere_else_ends_with_130_and_one_line(monkeypatch, capsys):
    import arena.cli

    def interrupted_run(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(arena.cli, "_run", interrupted_run)
    try:
        code = arena.cli.main(["models"])
    except KeyboardInterrupt:  # escaped: a traceback for the user
        code = None
    assert code == 130
    assert capsys.readouterr().err == "arena: interrupted\n"


@pytest.mark.timeout(120)
def test_an_interrupted_sweep_writes_only_what_finished_and_no_grid(tmp_path, loopback):
    out = tmp_path / "grid"
    process = _started(tmp_path, loopback, "compare", "hi", "--models", "quick,slow", "--sweep", "seed=1,2",
                       "--out", str(out))
    said = []
    while not any(line.startswith("[2/4]") for line in said):  # both quick cells have finished
        line = process.stderr.readline()
        assert line, "".join(said)
        said.append(line)
    _, stderr = _interrupt(process)
    assert process.returncode == 130, stderr
    assert stderr.endswith(f"arena: interrupted; wrote the 2 finished outputs to {out}, and no grid "
                           "(2 of 4 did not finish)\n")
    assert sorted(path.name for path in out.iterdir()) == ["quick_seed-1.md", "quick_seed-2.md"]


@pytest.mark.timeout(120)
def test_a_sweep_interrupted_before_anything_finished_leaves_no_folder(tmp_path, loopback):
    from tests.helpers import wait_until

    out = tmp_path / "grid"
    process = _started(tmp_path, loopback, "compare", "hi", "--models", "slow", "--sweep", "seed=1,2",
                       "--out", str(out))
    wait_until(lambda: loopback.count(_slow(tmp_path, "slow")) >= 2, timeout=60, what="both cells asked")
    _, stderr = _interrupt(process)
    assert process.returncode == 130, stderr
    assert stderr.endswith(f"arena: interrupted; nothing had finished, so nothing was written to {out}\n")
    assert not out.exists()


@pytest.mark.parametrize("flags, said", [
    (("--seed", "-5"), "arena: --seed must be at least 0, not -5.\n"),
    (("--temperature", "2.5"), "arena: --temperature must be at most 2, not 2.5.\n"),
    (("--size", "512x8"), "arena: --size's height must be at least 16, not 8.\n"),
    (("--max-tokens", "0"), "arena: --max-tokens must be at least 1, not 0.\n"),
])
def test_a_compare_flag_out_of_bounds_says_the_flag_and_its_bound(tmp_path, flags, said):
    refused = arena("--data-dir", str(tmp_path), "compare", "a cat", "--models", "offline-sd", *flags)
    assert (refused.returncode, refused.stdout, refused.stderr) == (2, "", said)


@pytest.mark.timeout(180)
def test_ctrl_c_stops_serve_with_130(tmp_path, loopback):
    process = _started(tmp_path, loopback, "serve", "--port", "0")
    said = []
    while not any("Running on" in line for line in said):
        line = process.stdout.readline()
        assert line, "".join(said) + process.stderr.read()
        said.append(line)
    stdout, stderr = _interrupt(process)
    assert process.returncode == 130, (stdout, stderr)
    assert "Traceback" not in stderr
