"""What the compare view shows, without a browser: model lists and pane rendering (escaped)."""

from __future__ import annotations

from arena.catalog import ModelEntry
from arena.pane import Pane
from arena.ui.compare import CompareView
from arena.ui.panes import body_html, footer_html, header_html
from arena.ui.words import md
from tests.conftest import OFFLINE_ENTRIES


def test_unavailable_models_are_listed_with_the_reason_not_offered(engine_factory, monkeypatch):
    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)
    engine = engine_factory(OFFLINE_ENTRIES + [
        {"name": "mistral-medium", "kind": "mistral-chat", "model": "mistral-medium-latest"},
        {"name": "mistral-small", "kind": "mistral-chat", "model": "mistral-small-latest"},
    ])
    choices, unavailable = CompareView(engine)._model_lists()
    assert [value for _, value in choices] == ["offline-pixtral", "offline-llama-vision", "offline-sd"]
    # One line, so the answers stay near the top; the reasons are in the catalog it links to.
    assert "2 unavailable now: mistral-medium, mistral-small" in unavailable and "#arena-catalog" in unavailable
    assert "MISTRAL_API_KEY is not set" in CompareView(engine)._catalog_markdown()


def test_model_and_server_text_is_escaped_in_the_pane_html():
    entry = ModelEntry(name="m", kind="openai-chat", model="x")
    pane = Pane(0, entry)
    pane.start()
    pane.notice("<img src=x onerror=alert(1)>")
    pane.text("<script>alert(2)</script> hello")
    pane.finish("error", "the server failed (HTTP 500): <b onmouseover=alert(3)>")
    snapshot = pane.snapshot()
    html = header_html(snapshot) + footer_html(snapshot)
    assert "<img" not in html and "<b " not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "&lt;b onmouseover=alert(3)&gt;" in html
    assert 'data-status="error"' in html and ">failed<" in html
    # Model text goes through arena.render: HTML it writes is shown as text, never made into elements.
    body = body_html(snapshot)
    assert "<script" not in body and "&lt;script&gt;alert(2)&lt;/script&gt; hello" in body


def test_a_page_in_an_answer_gets_a_sandboxed_preview_and_plain_text_none():
    from arena.ui.words import preview

    shown = preview("Here:\n```html\n<h1>Shop</h1><script>steal()</script>\n```")
    assert shown.visible is True
    assert 'sandbox="allow-scripts"' in shown.value and "<script>" not in shown.value
    assert preview("just words, and <b>bold</b>").visible is False


def test_the_suites_tab_reads_only_yaml_suites(engine_factory, tmp_path):
    from arena.store import Store
    from arena.ui.suites import SuitesView

    view = SuitesView(engine_factory(OFFLINE_ENTRIES), Store(tmp_path / "data"))
    assert md("a suite is a .yaml file") in view._describe("/etc/passwd")
    assert view._describe("seed.yaml").startswith("**seed** v1: 11 cases")


def test_a_new_run_stops_the_old_one_drawing_into_its_panes(loopback, keys, engine_factory):
    import gradio as gr

    from tests.conftest import openai_entry

    engine = engine_factory([openai_entry(loopback, "slow", model="drip200-render"),
                             openai_entry(loopback, "quick", model="echo-render")])
    view = CompareView(engine)
    with gr.Blocks():
        view.build()

    class Session:
        session_hash = "one-tab"

    def asked(prompt, models):  # what the page sends for Run, the Parameters left blank
        return {view.prompt: prompt, view.image: None, view.models: models, view.save: False}

    old = view.run(asked("a long story", ["slow"]), Session())
    next(old)  # the first frame: the slow pane is shown
    new = list(view.run(asked("hello", ["quick"]), Session()))
    assert "Finished: 1 done." in new[-1][view.message]
    leftovers = list(old)  # the old run was stopped; it draws nothing over the new panes
    assert not any(view.slots[0].text in frame for frame in leftovers)


def test_a_conversation_reads_as_a_chat_with_bubbles_and_safe_answers():
    from arena.request import Turn

    entry = ModelEntry(name="m", kind="openai-chat", model="x")
    pane = Pane(0, entry)
    pane.start()
    pane.text("| a | b |\n|---|---|\n| 1 | 2 |\n\n$x^2$")
    pane.finish("done")
    earlier = (Turn(role="user", text="<b>first</b> question"), Turn(role="assistant", text="**first** answer"))
    body = body_html(pane.snapshot(), earlier, "second *question*")
    assert body.count('class="arena-turn arena-turn-user"') == 2 and body.count("arena-turn-model") == 2
    assert "&lt;b&gt;first&lt;/b&gt; question" in body and "second *question*" in body  # the user's words as typed
    assert "<strong>first</strong> answer" in body and '<div class="arena-table"><table>' in body and "<math" in body
    assert "You:" not in body and body.count('class="arena-copy"') == 2
