"""Multi-turn chat (each model its own history) and chains (describe → draw, draw → critique), with lineage."""

from __future__ import annotations

import pytest
from PIL import Image

from arena.chains import DescribeThenDraw, critique_jobs, critique_prompt, draw_jobs, parse_score
from arena.conversation import Conversation, fit_context
from arena.errors import InputError
from arena.images import InputImage
from arena.request import GenerationParams, Request, Turn
from arena.store import Filter, Store
from arena.store.export import export
from tests.conftest import OFFLINE_ENTRIES, mistral_entry, openai_entry

RED = InputImage(Image.new("RGB", (40, 30), (255, 0, 0)))


def image_parts(message: dict) -> list:
    content = message["content"]
    return [] if isinstance(content, str) else [p for p in content if p.get("type") == "image_url"]


def text_of(message: dict) -> str:
    content = message["content"]
    return content if isinstance(content, str) else " ".join(p["text"] for p in content if p.get("type") == "text")


@pytest.fixture
def chat_engine(loopback, keys, engine_factory, tmp_path):
    engine = engine_factory([
        openai_entry(loopback, "seer", model="echo-seer"),
        mistral_entry(loopback, "mistral-seer", model="echo-mistral-seer"),
        openai_entry(loopback, "reader", model="echo-reader", image_input=False),
        openai_entry(loopback, "flaky", model="ratelimit-chat", max_retries=0),
        openai_entry(loopback, "painter", kind="openai-image", model="gpt-image-1"),
    ])
    engine.store = Store(tmp_path / "data")
    return engine


def last_body(loopback, model: str) -> dict:
    return loopback.bodies(model=model)[-1]


def test_each_model_gets_exactly_its_own_history_and_images_only_if_it_can_see(chat_engine, loopback):
    chat = Conversation(chat_engine, ["seer", "mistral-seer", "reader", "painter"])
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
    store = chat_engine.store
    turn_two = store.get(later[0].record_id)
    assert turn_two.parent_id == panes[0].record_id
    assert [r.prompt for r in store.chain(turn_two)] == ["what is in this picture?", "and what colour is it?"]


def test_again_resends_one_model_only_and_a_failed_pane_can_be_retried(chat_engine, loopback):
    chat = Conversation(chat_engine, ["seer", "flaky"])
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


def test_describe_then_draw_links_every_picture_to_its_description(chat_engine, loopback):
    chain = DescribeThenDraw(chat_engine, "a charming spider at work", ["seer", "reader"], ["painter"])
    describe, draw = chain.run()
    descriptions = describe.snapshots()
    pictures = draw.snapshots()
    assert [p.status for p in pictures] == ["done", "done"]
    assert chain.drawn_from == ["seer", "reader"]
    drawn = [b["prompt"] for b in loopback.bodies("/images/generations")[-2:]]
    assert sorted(drawn) == sorted(" ".join(d.text.split()) for d in descriptions)
    assert "a charming spider at work" in loopback.bodies(model="echo-seer")[-1]["messages"][0]["content"]
    store = chat_engine.store
    for description, picture in zip(descriptions, pictures, strict=True):
        record = store.get(picture.record_id)
        assert record.parent_id == description.record_id and record.images
        assert [r.id for r in store.chain(record)] == [description.record_id, record.id]


def test_critique_parses_the_score_and_records_its_picture_as_parent(chat_engine, loopback, engine_factory):
    engine = engine_factory([openai_entry(loopback, "critic", model="critic-1"),
                             openai_entry(loopback, "painter", kind="openai-image", model="gpt-image-1"),
                             openai_entry(loopback, "reader", model="echo-r", image_input=False)])
    engine.store = chat_engine.store
    [drawn] = engine.start(Request("a charming spider at work"), ["painter"]).wait()
    record = engine.store.get(drawn.record_id)
    picture = InputImage(Image.open(engine.store.images.path(record.images[0])).convert("RGB"))
    prompt = critique_prompt(None, record.prompt)
    assert prompt == ("Does this picture match the prompt “a charming spider at work”? "
                      "Score it from 1 to 10 and say why.")
    [critique] = engine.start_each(critique_jobs(engine, picture, prompt, ["critic"], record.id)).wait()
    assert parse_score(critique.text) == 7.0
    sent = loopback.bodies(model="critic-1")[-1]["messages"][0]["content"]
    assert len(image_parts({"content": sent})) == 1
    stored = engine.store.get(critique.record_id)
    assert stored.parent_id == record.id
    with pytest.raises(InputError, match="cannot see images"):
        critique_jobs(engine, picture, prompt, ["reader"])
    with pytest.raises(InputError, match="Only image generators can draw"):
        draw_jobs(engine, "a spider", ["critic"])
    assert parse_score("Score it from 1 to 10") is None and parse_score("8 out of 10") == 8.0


def test_a_chain_is_exported_as_one_strip_with_its_links(chat_engine, tmp_path):
    chain = DescribeThenDraw(chat_engine, "a charming spider at work", ["seer"], ["painter"])
    describe, draw = chain.run()
    store = chat_engine.store
    picture = store.get(draw.snapshots()[0].record_id)
    strip = store.chain(picture)
    page = export(store, strip, tmp_path / "page", "html") / "index.html"
    html = page.read_text()
    assert f'href="#o-{describe.snapshots()[0].record_id}"' in html and "made from" in html
    lines = (export(store, strip, tmp_path / "lines", "jsonl") / "records.jsonl").read_text().splitlines()
    assert '"parent_id": "' + describe.snapshots()[0].record_id in lines[1]


def test_cancelling_a_chain_keeps_finished_steps_and_starts_no_more(loopback, keys, engine_factory, tmp_path):
    engine = engine_factory([openai_entry(loopback, "slow", model="drip200-describe"),
                             openai_entry(loopback, "painter", kind="openai-image", model="gpt-image-1")])
    engine.store = Store(tmp_path / "data")
    chain = DescribeThenDraw(engine, "a spider", ["slow"], ["painter"], params=GenerationParams(max_tokens=50))
    describing = chain.describe()
    chain.cancel()
    [pane] = describing.wait()
    assert pane.status == "cancelled" and chain.draw() is None
    assert engine.store.query(Filter())[1] == 0  # stopped before a word: nothing is kept, nothing was drawn



def test_cli_describe_draw_then_critique_the_picture(loopback, tmp_path):
    from tests.apprunner import write_catalog
    from tests.conftest import LOOPBACK_KEY
    from tests.test_cli import arena

    catalog = write_catalog(tmp_path / "c.yaml", [
        openai_entry(loopback, "seer", model="echo-cli-seer"),
        openai_entry(loopback, "teller", model="echo-cli-teller"),
        openai_entry(loopback, "painter", kind="openai-image", model="gpt-image-1"),
        openai_entry(loopback, "critic", model="critic-cli"),
    ])
    env = {"ARENA_CATALOG": str(catalog), "OPENAI_API_KEY": LOOPBACK_KEY, "ARENA_DATA_DIR": str(tmp_path / "d")}
    out = tmp_path / "out"
    drawn = arena("chain", "describe-draw", "a charming spider at work", "--describe", "seer,teller",
                  "--draw", "painter", "--out", str(out), env_extra=env)
    assert drawn.returncode == 0, drawn.stderr
    assert sorted(p.name for p in out.iterdir()) == ["describe-seer.md", "describe-teller.md",
                                                     "draw-painter-from-seer.png", "draw-painter-from-teller.png"]
    assert "a charming spider at" in (out / "describe-seer.md").read_text()
    critiqued = arena("chain", "critique", str(out / "draw-painter-from-seer.png"), "--models", "critic",
                      "--out", str(out), env_extra=env)
    assert critiqued.returncode == 0, critiqued.stderr
    assert "score 7/10" in critiqued.stdout
    assert (out / "critique-critic.md").read_text().startswith("score: 7/10")
    store = Store(tmp_path / "d")
    [critique] = store.all(Filter(models=["critic"]))
    strip = [r.model for r in store.chain(critique)]
    assert strip == ["seer", "painter", "critic"]  # the picture file carried its record
    wrong = arena("chain", "describe-draw", "x", "--describe", "painter", "--draw", "painter", env_extra=env)
    assert wrong.returncode == 2 and "Only text models can describe" in wrong.stderr
