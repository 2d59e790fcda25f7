"""Multi-turn chat (arena.conversation): each model its own history, images only to models that see, answer
again, clear, and the context budget."""

from __future__ import annotations

import pytest
from PIL import Image

from arena.context_budget import fit_context
from arena.conversation import Conversation
from arena.errors import InputError
from arena.images import InputImage
from arena.request import Request, Turn
from tests.conftest import OFFLINE_ENTRIES, openai_entry
from tests.helpers import chat_engine, image_parts, text_of

RED = InputImage(Image.new("RGB", (40, 30), (255, 0, 0)))


@pytest.fixture
def chat_models(loopback, keys, engine_factory, tmp_path):
    return chat_engine(engine_factory, loopback, tmp_path)


def last_body(loopback, model: str) -> dict:
    return loopback.bodies(model=model)[-1]


def test_each_model_gets_exactly_its_own_history_and_images_only_if_it_can_see(chat_models, loopback):
    chat = Conversation(chat_models, ["seer", "mistral-seer", "reader", "painter"])
    assert chat.models == ["seer", "mistral-seer", "reader"]  # the generator is not part of the conversation
    first = chat.send("what is in this picture?", RED, also=["painter"])
    panes = first.wait()
    chat.record(first)
    assert [p.status for p in panes] == ["done"] * 4
    answers = {p.model: p.text for p in panes}
    assert "The image was not sent: reader takes text only." in panes[2].notices

    second = chat.send("and what colour is it?")
    later = second.wait()
    chat.record(second)
    assert [p.model for p in later] == ["seer", "mistral-seer", "reader"]
    assert "The images were not sent: reader takes text only." in later[2].notices
    for model, wire in (("seer", "echo-seer"), ("mistral-seer", "echo-mistral-seer"), ("reader", "echo-reader")):
        sent = last_body(loopback, wire)["messages"]
        assert [m["role"] for m in sent] == ["user", "assistant", "user"]
        assert text_of(sent[0]) == "what is in this picture?"
        assert sent[1]["content"] == answers[model]  # its own answer, nobody else's
        assert text_of(sent[2]) == "and what colour is it?"
        assert len(image_parts(sent[0])) == (0 if model == "reader" else 1)
        assert not image_parts(sent[2])
    # Each answer is kept turn by turn, pointing at the same model's answer before it.
    store = chat_models.store
    turn_two = store.get(later[0].record_id)
    assert turn_two.parent_id == panes[0].record_id
    assert [r.prompt for r in store.chain(turn_two)] == ["what is in this picture?", "and what colour is it?"]


def test_again_resends_one_model_only_and_a_failed_pane_can_be_retried(chat_models, loopback):
    chat = Conversation(chat_models, ["seer", "flaky"])
    first = chat.send("hello")
    panes = first.wait()
    chat.record(first)
    assert panes[1].status == "error"  # the first request to a ratelimit model gets 429, and no retries
    seer_calls = loopback.count("echo-seer")
    retried = chat.again("flaky")
    [pane] = retried.wait()
    chat.record(retried)
    assert pane.status == "done" and loopback.count("echo-seer") == seer_calls
    assert last_body(loopback, "ratelimit-chat")["messages"] == [{"role": "user", "content": "hello"}]
    assert len(chat.history("flaky")) == 2

    again = chat.again("seer")  # regenerate: the same message, the last answer replaced
    again.wait()
    chat.record(again)
    assert [m["role"] for m in last_body(loopback, "echo-seer")["messages"]] == ["user"]
    assert len(chat.history("seer")) == 2
    chat.clear("seer")
    assert chat.history("seer") == [] and len(chat.history("flaky")) == 2
    with pytest.raises(InputError, match="no message to answer again"):
        chat.again("seer")
    chat.clear()
    assert chat.history("flaky") == []


def test_no_follow_up_while_a_model_is_still_answering(loopback, keys, engine_factory):
    engine = engine_factory([openai_entry(loopback, "slow", model="drip100-busy")])
    chat = Conversation(engine, ["slow"], save=False)
    first = chat.send("hello")
    with pytest.raises(InputError, match="Still answering: slow"):
        chat.send("too soon")
    first.wait()
    chat.record(first)
    chat.send("now it may").wait()


def test_a_long_conversation_is_cut_to_the_model_context_with_a_note(loopback, keys, engine_factory):
    engine = engine_factory([openai_entry(loopback, "small", model="echo-small", context_tokens=400,
                                          params={"max_tokens": 100})])
    chat = Conversation(engine, ["small"], save=False)
    for number in range(4):
        step = chat.send(f"message {number}: " + "words " * 100)
        [pane] = step.wait()
        chat.record(step)
    sent = last_body(loopback, "echo-small")["messages"]
    assert len(sent) < 7 and sent[-1]["content"].startswith("message 3")
    assert sent[0]["role"] == "user"  # cut at a whole exchange
    assert any("left out" in note for note in pane.notices)
    request = Request("now", history=(Turn("user", "x" * 4000), Turn("assistant", "y" * 4000)))
    fitted, note = fit_context(request, 1000)
    assert fitted.history == () and "2 oldest messages were left out, 0 kept" in note
    assert fit_context(request, 100_000) == (request, None)


def test_offline_vision_models_hold_a_conversation_with_the_first_image(engine_factory):
    engine = engine_factory(OFFLINE_ENTRIES)
    chat = Conversation(engine, ["offline-pixtral", "offline-llama-vision"], save=False)
    first = chat.send("describe this", RED)
    first.wait()
    chat.record(first)
    second = chat.send("and now in one word", RED)  # a new image on top of the first one
    panes = second.wait()
    assert [p.status for p in panes] == ["done", "done"], [p.error for p in panes]
    assert all(p.used["prompt_tokens"] > 0 for p in panes)
