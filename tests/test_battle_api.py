"""The /battle and /vote endpoints through gradio_client: anonymous panes, a battle id, votes and their rules."""

from __future__ import annotations

import json

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from tests.apprunner import environment, running_app, write_catalog
from tests.conftest import LOOPBACK_KEY, openai_entry

NAMES = ("alpha", "bravo", "broken", "words6-alpha", "words4-bravo", "fail500")


@pytest.fixture(scope="module")
def app(tmp_path_factory, loopback):
    folder = tmp_path_factory.mktemp("battle-api")
    catalog = write_catalog(folder / "catalog.yaml", [
        openai_entry(loopback, "alpha", model="words6-alpha"),
        openai_entry(loopback, "bravo", model="words4-bravo"),
        openai_entry(loopback, "broken", model="fail500", max_retries=0),
        {"name": "pic-one", "kind": "openai-image", "model": "gpt-image-one", "base_url": loopback.v1},
        {"name": "pic-two", "kind": "openai-image", "model": "gpt-image-two", "base_url": loopback.v1},
    ])
    with environment(OPENAI_API_KEY=LOOPBACK_KEY, ARENA_DATA_DIR=str(folder / "data")), \
            running_app(catalog) as (url, engine):
        yield Client(url, verbose=False), engine


def test_a_battle_streams_two_anonymous_panes_and_takes_one_vote(app):
    client, engine = app
    job = client.submit(prompt="Say something.", kind="text", models=["alpha", "bravo"], api_name="/battle")
    updates = list(job)
    final = job.result()
    assert final["state"] == "finished" and final["vote_allowed"] is True
    assert [p["side"] for p in final["panes"]] == ["A", "B"] and all(p["status"] == "done" for p in final["panes"])
    assert {len(p["text"].split()) for p in final["panes"]} == {6, 4}
    for update in [*updates, final]:
        shown = json.dumps(update)
        assert not any(name in shown for name in NAMES) and update["battle_id"] == final["battle_id"]
    voted = client.predict(battle_id=final["battle_id"], outcome="a", reason="longer", api_name="/vote")
    assert voted["accepted"] is True and voted["outcome"] == "a"
    assert set(voted["models"].values()) == {"alpha", "bravo"}
    shown_a = next(p for p in final["panes"] if p["side"] == "A")
    assert len(shown_a["text"].split()) == (6 if voted["models"]["A"] == "alpha" else 4)
    assert engine.store.get(voted["outputs"]["A"]).model == voted["models"]["A"]
    with pytest.raises(AppError, match="has a vote already"):
        client.predict(battle_id=final["battle_id"], outcome="b", reason="", api_name="/vote")


def test_a_vote_on_an_errored_battle_is_refused(app):
    client, _ = app
    final = client.predict(prompt="Fail.", kind="text", models=["broken", "alpha"], api_name="/battle")
    assert final["state"] == "errored" and final["vote_allowed"] is False
    assert "ends without a vote" in final["why_no_vote"] and "broken" not in json.dumps(final)
    with pytest.raises(AppError, match="ends without a vote"):
        client.predict(battle_id=final["battle_id"], outcome="tie", reason="", api_name="/vote")


def test_generators_battle_with_the_same_seed(app):
    client, engine = app
    final = client.predict(prompt="a charming spider at work", kind="image", params={"seed": 11},
                           api_name="/battle")
    assert final["kind"] == "image" and all(p["images"] for p in final["panes"])
    assert not any(name in json.dumps(final) for name in ("pic-one", "pic-two", "gpt-image"))


@pytest.mark.parametrize("kwargs, message", [
    ({"prompt": "", "kind": "text"}, "Type a prompt first."),
    ({"prompt": "hi", "kind": "video"}, 'The kind of battle is "text"'),
    ({"prompt": "hi", "kind": "text", "models": ["alpha"]}, "A battle needs two text models"),
    ({"prompt": "hi", "kind": "text", "params": {"temperature": 9}}, "Bad parameters: temperature"),
])
def test_bad_battles_are_refused_in_a_sentence(app, kwargs, message):
    client, _ = app
    with pytest.raises(AppError, match=message):
        client.predict(**kwargs, api_name="/battle")


def test_bad_votes_are_refused_in_a_sentence(app):
    client, _ = app
    with pytest.raises(AppError, match="No battle with id"):
        client.predict(battle_id="nope", outcome="a", reason="", api_name="/vote")
    final = client.predict(prompt="Hi.", kind="text", models=["alpha", "bravo"], api_name="/battle")
    with pytest.raises(AppError, match='The outcome is one of "a", "b", "tie" or "bothbad"'):
        client.predict(battle_id=final["battle_id"], outcome="maybe", reason="", api_name="/vote")


def test_the_endpoints_are_documented_with_their_parameters(app):
    client, _ = app
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    names = {name: [p["parameter_name"] for p in endpoint["parameters"]] for name, endpoint in endpoints.items()}
    assert names["/battle"] == ["prompt", "kind", "image", "params", "models"]
    assert names["/vote"] == ["battle_id", "outcome", "reason"]
