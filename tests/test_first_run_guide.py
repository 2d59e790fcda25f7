"""The first-run guide's words where the Hub cannot be used: no Download button that can only fail."""

from __future__ import annotations

import gradio as gr

from arena.ui.first_run import FirstRunGuide
from tests.conftest import make_engine
from tests.test_browser_first_run import nothing_but_offline


def _guide(engine) -> FirstRunGuide:
    with gr.Blocks():
        guide = FirstRunGuide(engine)
        guide.build()
    return guide


def test_with_hf_hub_offline_set_the_guide_says_so_instead_of_offering_downloads(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    engine = make_engine(nothing_but_offline())
    try:
        guide = _guide(engine)
        assert guide.box.visible and guide.names == ["smolvlm-256m", "sd-turbo"]
        assert "`HF_HUB_OFFLINE` is set" in guide.text.value and "python -m arena pull" in guide.text.value
        assert [button.visible for button in guide.buttons] == [False, False]
        update = guide.refresh()  # "Check availability again" keeps it so
        assert all(update[button].visible is False for button in guide.buttons)
    finally:
        engine.close()


def test_a_hub_out_of_reach_is_said_too(monkeypatch):
    from arena import hub

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: nothing answers
    hub.forget()
    engine = make_engine(nothing_but_offline())
    try:
        guide = _guide(engine)
        assert "cannot be reached" in guide.text.value and "127.0.0.1:9" in guide.text.value
        assert not any(button.visible for button in guide.buttons)
    finally:
        engine.close()
        hub.forget()
