"""The Gallery and Battle tabs with the team's PostgreSQL server stopped: each handler that reads or writes the
store says the store's one sentence in the tab's message line (no traceback, one warning), and the same handler
works again once the server is back."""

from __future__ import annotations

import logging

import gradio as gr

from arena.request import Request
from arena.store import Filter, Store
from arena.ui.words import md
from tests import postgres as server
from tests.conftest import openai_entry
from tests.test_battles import Visitor, fields

postgres, postgres_url = server.postgres, server.postgres_url  # fixtures


def unreachable(postgres) -> str:
    return md(f"The database postgresql://arena@127.0.0.1:{postgres.port}/")


def one_warning(caplog) -> None:
    assert "Traceback" not in caplog.text and server.PASSWORD not in caplog.text
    warnings = [r for r in caplog.records if r.name == "arena.ui.words"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING and not warnings[0].exc_info
    caplog.clear()


def test_gallery_says_the_database_is_down_and_works_when_it_is_back(postgres, postgres_url, loopback, keys,
                                                                     engine_factory, tmp_path, caplog):
    from arena.ui.gallery import GalleryView

    engine = engine_factory([openai_entry(loopback, "echo", model="echo-gallery-down")])
    engine.store = Store(tmp_path / "data", database_url=postgres_url)
    engine.start(Request("a spider at work"), ["echo"]).wait()
    [record] = engine.store.query(Filter())[0]
    view = GalleryView(engine, engine.store)
    with gr.Blocks():
        view.build()
    page = {view.page: 1, view.group: False}
    with caplog.at_level(logging.INFO), postgres.stopped():
        shown = view.show_current(page)
        assert set(shown) == {view.message} and shown[view.message].startswith(unreachable(postgres))
        one_warning(caplog)
        for handler, where in [(lambda: view.open(record.id), view.message),
                               (lambda: view.toggle_favourite(record.id), view.record_message),
                               (lambda: view.store_note(record.id, "a note"), view.record_message),
                               (lambda: view.delete({**page, view.selected: record.id}), view.record_message),
                               (lambda: view.export_view({view.export_format: "json"}), view.export_message),
                               (lambda: view.export_of_selected("json", record.id), view.export_message)]:
            said = handler()
            assert set(said) == {where} and said[where].startswith(unreachable(postgres)), said
            one_warning(caplog)
    again = view.show_current(page)
    assert again[view.message] == "" and "a spider at work" in again[view.grid]
    assert view.open(record.id)[view.selected] == record.id
    assert view.store_note(record.id, "a note") == "Note saved."


def test_battle_says_the_database_is_down_and_starts_when_it_is_back(postgres, postgres_url, loopback, keys,
                                                                     engine_factory, tmp_path, caplog):
    from arena.ui.battle import BattleView

    engine = engine_factory([openai_entry(loopback, name, model=f"echo-{name}") for name in ("ant", "bee")])
    engine.store = Store(tmp_path / "data", database_url=postgres_url)
    with gr.Blocks():
        view = BattleView(engine)
        view.build()
    page = fields(view, "text", "Tell me something.", ["ant", "bee"])
    with caplog.at_level(logging.INFO), postgres.stopped():
        frames = list(view.start(page, request=Visitor()))
        assert frames[-1][view.message].startswith(unreachable(postgres)), frames
        one_warning(caplog)
    frames = list(view.start(page, request=Visitor()))
    battle = view._battle("page-1")
    assert battle is not None and battle.state() == "finished"
    assert all(frames[-1][button].interactive for button in view.vote_buttons.values())
    with caplog.at_level(logging.INFO), postgres.stopped():
        said = view.vote("tie", "", "", Visitor())
        assert said[view.message].startswith(unreachable(postgres)), said
        one_warning(caplog)
    kept = view.vote("tie", "", "", Visitor())
    assert kept[view.message].startswith("Thanks, your vote is kept")
    with caplog.at_level(logging.INFO), postgres.stopped():
        said = view.undo(kept[view.voter], Visitor())
        assert said[view.message].startswith(unreachable(postgres)), said
        one_warning(caplog)
    assert view.undo(kept[view.voter], Visitor())[view.message].startswith("Your vote is taken back")


def test_suites_says_the_database_is_down_and_shows_its_runs_when_it_is_back(postgres, postgres_url, engine_factory,
                                                                              tmp_path, caplog):
    from arena.suites.model import load_suite
    from arena.suites.runner import SuiteRun
    from arena.ui.suites import SuitesView
    from tests.conftest import OFFLINE_ENTRIES, ROOT

    engine = engine_factory(OFFLINE_ENTRIES)
    engine.store = Store(tmp_path / "data", database_url=postgres_url)
    seed = ROOT / "prompts" / "seed.yaml"
    run_id = SuiteRun(engine, load_suite(seed), ["offline-pixtral"], source=str(seed)).run_id  # recorded, not run
    view = SuitesView(engine, engine.store)
    with gr.Blocks():
        view.build()
    with caplog.at_level(logging.INFO), postgres.stopped():
        for handler in (view.on_open, lambda: view.view_run(run_id, "all"), lambda: view.export(run_id, "json"),
                        lambda: list(view.resume(run_id, 1, True, "all", None))[-1]):
            said = handler()
            assert set(said) == {view.message} and said[view.message].startswith(unreachable(postgres)), said
            one_warning(caplog)
    opened = view.on_open()
    assert view.message not in opened and run_id in [value for _, value in opened[view.run_pick].choices]
