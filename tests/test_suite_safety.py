"""Issue 10, hole 6: the Suites tab reads suites only from prompts/ and the folders the operator listed."""

from __future__ import annotations

import os

import gradio as gr
import pytest

from arena.store import Store
from arena.ui.words import md
from arena.web import parse_args
from tests.conftest import OFFLINE_ENTRIES

SECRET = "name: private\nversion: 1\ncases:\n  - {id: a, prompt: the-secret-prompt}\n  bad: [\n"


@pytest.fixture
def places(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.yaml").write_text(SECRET)
    (outside / "fine.yaml").write_text("name: elsewhere\nversion: 1\ncases:\n  - {id: a, prompt: hidden-prompt}\n")
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "team.yaml").write_text("name: team\nversion: 3\ncases:\n  - {id: a, prompt: hi}\n")
    (extra / "broken.yaml").write_text("name: team\nversion: 3\ncases:\n  - {id: a, prompt: hi}\n  bad: [\n")
    (extra / "link.yaml").symlink_to(outside / "fine.yaml")
    return outside, extra


@pytest.fixture
def view(places, engine_factory, tmp_path):
    from arena.ui.suites import SuitesView

    _, extra = places
    engine = engine_factory(OFFLINE_ENTRIES, suites_dirs=[extra])
    suites = SuitesView(engine, Store(tmp_path / "data"))
    with gr.Blocks():
        suites.build()
    return suites


def test_only_prompts_and_the_listed_folders_are_offered(view, places):
    _, extra = places
    files = view._suite_files()
    assert "seed.yaml" in files and str(extra / "team.yaml") in files
    assert not any("secret" in f or "fine" in f for f in files)
    assert view._describe("seed.yaml").startswith("**seed** v1")
    assert view._describe(str(extra / "team.yaml")).startswith("**team** v3")


def test_a_path_outside_is_refused_with_one_sentence_that_reveals_nothing(view, places, tmp_path):
    from arena.ui.suites import NOT_SERVED

    outside, extra = places
    asked = [str(outside / "secret.yaml"), str(outside / "fine.yaml"), str(outside / "missing.yaml"),
             "../tests/nowhere.yaml", "../../../../etc/hosts.yaml", str(extra / "link.yaml"),
             str(extra / ".." / "outside" / "fine.yaml"), str(tmp_path / "nope" / "gone.yml")]
    said = {view._describe(path) for path in asked}
    assert said == {f"**Cannot read the suite:** {md(NOT_SERVED)}"}
    for text in said:
        assert "secret" not in text and "hidden-prompt" not in text and "line" not in text


def test_the_run_handler_refuses_an_outside_suite_before_anything_runs(view, places):
    from arena.ui.suites import NOT_SERVED

    outside, _ = places
    [update] = list(view.run(str(outside / "fine.yaml"), ["offline-pixtral"], "", 1, True, "all", None))
    assert update[view.message] == f"**Cannot run the suite:** {md(NOT_SERVED)}"
    assert view.store.connection().execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0


def test_yaml_errors_show_their_line_for_a_suite_the_user_may_read(view, places):
    _, extra = places
    assert "line 5" in view._describe(str(extra / "broken.yaml"))


def test_suites_dir_is_an_option_of_the_web_app(tmp_path, monkeypatch):
    args = parse_args(["--suites-dir", str(tmp_path / "a"), "--suites-dir", str(tmp_path / "b")])
    assert args.suites_dir == [tmp_path / "a", tmp_path / "b"]
    monkeypatch.setenv("ARENA_SUITES_DIRS", os.pathsep.join([str(tmp_path / "c"), str(tmp_path / "d")]))
    from arena.settings import Settings

    assert Settings.from_env().suites_dirs == [tmp_path / "c", tmp_path / "d"]


def test_a_run_started_from_the_cli_is_found_by_the_tab_wherever_its_path_was_typed(view, places):
    seed = view._suite_path("seed.yaml")
    for typed in ("prompts/seed.yaml", "/srv/elsewhere/arena/prompts/seed.yaml", str(seed)):
        assert view._suite_path(typed) == seed  # relative to the shell's folder, another replica's, or in full
