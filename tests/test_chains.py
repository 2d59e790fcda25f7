"""Chains (arena.chains): describe → draw and draw → critique, each output linked to its parent; and the CLI's
chain commands."""

from __future__ import annotations

import pytest
from PIL import Image

from arena.chains import DescribeThenDraw, critique_jobs, critique_prompt, draw_jobs, parse_score
from arena.errors import InputError
from arena.images import InputImage
from arena.request import GenerationParams, Request
from arena.store import Filter, Store
from tests.apprunner import write_catalog
from tests.conftest import LOOPBACK_KEY, openai_entry
from tests.helpers import arena, chat_engine, image_parts


@pytest.fixture
def chat_models(loopback, keys, engine_factory, tmp_path):
    return chat_engine(engine_factory, loopback, tmp_path)


def test_describe_then_draw_links_every_picture_to_its_description(chat_models, loopback):
    chain = DescribeThenDraw(chat_models, "a charming spider at work", ["seer", "reader"], ["painter"])
    describe, draw = chain.run()
    descriptions = describe.snapshots()
    pictures = draw.snapshots()
    assert [p.status for p in pictures] == ["done", "done"]
    assert chain.drawn_from == ["seer", "reader"]
    drawn = [b["prompt"] for b in loopback.bodies("/images/generations")[-2:]]
    assert sorted(drawn) == sorted(" ".join(d.text.split()) for d in descriptions)
    assert "a charming spider at work" in loopback.bodies(model="echo-seer")[-1]["messages"][0]["content"]
    store = chat_models.store
    for description, picture in zip(descriptions, pictures, strict=True):
        record = store.get(picture.record_id)
        assert record.parent_id == description.record_id and record.images
        assert [r.id for r in store.chain(record)] == [description.record_id, record.id]


def test_critique_parses_the_score_and_records_its_picture_as_parent(chat_models, loopback, engine_factory):
    engine = engine_factory([openai_entry(loopback, "critic", model="critic-1"),
                             openai_entry(loopback, "painter", kind="openai-image", model="gpt-image-1"),
                             openai_entry(loopback, "reader", model="echo-r", image_input=False)])
    engine.store = chat_models.store
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
