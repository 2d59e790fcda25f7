"""The vote store: one vote per battle, the daily cap, undo rules, leaks, filters, pictures kept, and files out
and back in (our JSON Lines and CSV, FastChat's battles)."""

from __future__ import annotations

import json
import time

import pytest
from PIL import Image

from arena.battles.leaderboard import board, export_votes, import_votes, vote_filter
from arena.battles.votes import StoreVotes, Vote, catalog_names, find_leaks
from arena.errors import InputError
from arena.store import Store
from arena.store.votes import VoteFilter, VoteStore
from tests import postgres as server
from tests.helpers import new_record

another_database = server.another_database  # a fixture
database_url = server.database_url  # a fixture
postgres = server.postgres  # a fixture


@pytest.fixture
def store(tmp_path, database_url):
    store = Store(tmp_path / "store", database_url=database_url)
    yield store
    store.close()


def cast(votes: StoreVotes, battle: str, outcome: str = "a", a: str = "alpha", b: str = "bravo", **fields) -> Vote:
    return votes.add(battle_id=battle, kind=fields.pop("kind", "text"), model_a=a, model_b=b, outcome=outcome,
                     **fields)


def test_a_vote_is_stored_once_and_survives_a_restart(store, tmp_path):
    votes = StoreVotes(store)
    vote = cast(votes, "b1", "a", reason="clearer", prompt="say hi", suite="seed", case_id="hello",
                case_tags=["greeting"], voter="ana", side_a="right")
    with pytest.raises(InputError, match="has a vote already"):
        cast(votes, "b1", "b", voter="ben")
    (stored,) = VoteStore(Store(tmp_path / "store", database_url=store.database_url)).rows()
    assert stored.id == vote.id and stored.outcome == "a" and stored.reason == "clearer"
    assert (stored.side_a, stored.side_b, stored.voter, stored.voter_kind) == ("right", "left", "ana", "people_blind")
    assert stored.blind and not stored.leak and stored.case_tags == ["greeting"] and stored.suite == "seed"


def test_bad_votes_are_refused_in_a_sentence(store):
    votes = StoreVotes(store)
    for fields, words in (({"outcome": "maybe"}, "outcome"), ({"kind": "audio"}, "text or image"),
                          ({"voter_kind": "robot"}, "voter"), ({"b": "alpha"}, "two different models")):
        with pytest.raises(InputError, match=words):
            cast(votes, "bad", **fields)
    assert VoteStore(store).count() == 0


def test_the_daily_cap_stops_a_voter_not_the_others_nor_judges(store):
    votes = StoreVotes(store, cap_per_day=3)
    for n in range(3):
        cast(votes, f"ana-{n}", voter="ana")
    with pytest.raises(InputError, match="3 votes a day"):
        cast(votes, "ana-3", voter="ana")
    cast(votes, "ben-0", voter="ben")
    for n in range(5):
        cast(votes, f"judge-{n}", voter="big-judge", voter_kind="judge")
    assert VoteStore(store).voted_today("ana") == 3
    # Yesterday's votes do not count against today.
    VoteStore(store).import_votes([Vote(battle_id=f"old-{n}", kind="text", model_a="a", model_b="b", outcome="a",
                                        voter="cy", created_at=time.time() - 90000) for n in range(3)])
    cast(votes, "cy-today", voter="cy")


def test_undo_takes_back_only_the_voters_latest_vote(store):
    votes = StoreVotes(store)
    first = cast(votes, "b1", voter="ana")
    second = cast(votes, "b2", voter="ana")
    with pytest.raises(InputError, match="Only the person who voted"):
        votes.undo(second, "ben")
    with pytest.raises(InputError, match="latest vote"):
        votes.undo(first, "ana")
    votes.undo(second, "ana")
    with pytest.raises(InputError, match="No such vote"):
        votes.undo(second, "ana")
    votes.undo(first, "ana")  # now the latest
    assert VoteStore(store).count() == 0
    cast(votes, "b1", voter="ana")  # an undone battle may be voted on again


def test_answers_naming_a_model_or_vendor_flag_the_vote_and_leave_the_blind_board(store):
    votes = StoreVotes(store, names=["offline-pixtral", "my-house-model"])
    assert find_leaks(["I am Llama, trained by Meta."]) == ["Llama", "Meta"]
    assert find_leaks(["As a MISTRAL model", "openai's"]) == ["MISTRAL", "openai"]
    assert find_leaks(["llamas graze; a metaphor; googled; geminids", "a flux of ideas"]) == ["flux"]
    assert find_leaks(["ask my-house-model"], ["my-house-model"]) == ["my-house-model"]
    assert find_leaks(["Stable  Diffusion and hugging-face"]) == ["Stable  Diffusion", "hugging-face"]
    leaked = cast(votes, "b1", "a", text_a="I am Claude.", text_b="Here you are.")
    named_self = cast(votes, "b2", "b", text_a="fine", text_b="bravo here!")
    clean = cast(votes, "b3", "b", text_a="Sure.", text_b="Of course.")
    assert leaked.leak and named_self.leak and not clean.leak
    assert VoteStore(store).counts(vote_filter()) == [("alpha", "bravo", "b", 1)]
    assert sorted(VoteStore(store).counts(vote_filter(include_leaks=True))) == [("alpha", "bravo", "a", 1),
                                                                               ("alpha", "bravo", "b", 2)]


def test_catalog_names_give_entries_and_model_ids(engine_factory):
    engine = engine_factory([{"name": "pic-one", "kind": "openai-image", "model": "vendor/gpt-image-one",
                              "base_url": "http://127.0.0.1:9/v1"}])
    assert catalog_names(engine.catalog) == ["pic-one", "gpt-image-one"]


def test_filters_pick_kind_voter_suite_tag_and_dates(store):
    votes = StoreVotes(store)
    day = 86400
    now = time.time()
    rows = [
        Vote(battle_id="t1", kind="text", model_a="a", model_b="b", outcome="a", suite="seed", case_tags=["ocr"],
             created_at=now - 3 * day),
        Vote(battle_id="t2", kind="text", model_a="a", model_b="b", outcome="b", suite="other", created_at=now),
        Vote(battle_id="i1", kind="image", model_a="p", model_b="q", outcome="tie", created_at=now),
        Vote(battle_id="n1", kind="text", model_a="a", model_b="b", outcome="bothbad", voter_kind="people_named",
             blind=False, created_at=now),
        Vote(battle_id="j1", kind="text", model_a="a", model_b="b", outcome="a", voter="judgy", voter_kind="judge",
             created_at=now),
    ]
    VoteStore(store).import_votes(rows)
    counts = VoteStore(store).counts
    assert sorted(counts(vote_filter(kind="text"))) == [("a", "b", "a", 1), ("a", "b", "b", 1)]
    assert counts(vote_filter(kind="image")) == [("p", "q", "tie", 1)]
    assert counts(vote_filter(kind="text", voter="named")) == [("a", "b", "bothbad", 1)]
    assert counts(vote_filter(kind="text", voter="judgy")) == [("a", "b", "a", 1)]
    assert counts(vote_filter(voter="nobody")) == []
    assert counts(vote_filter(suite="seed")) == [("a", "b", "a", 1)]
    assert counts(vote_filter(case_tag="ocr")) == [("a", "b", "a", 1)]
    assert counts(vote_filter(since=now - day)) == sorted(counts(vote_filter(since=now - day)))
    assert sorted(counts(vote_filter(kind="text", since=now - day))) == [("a", "b", "b", 1)]
    assert counts(vote_filter(kind="text", until=now - day)) == [("a", "b", "a", 1)]
    assert VoteStore(store).voters("judge") == ["judgy"]
    assert VoteStore(store).facets() == {"suites": ["other", "seed"], "tags": ["ocr"]}
    assert len(VoteStore(store).rows(VoteFilter(voter_kind=None))) == 5
    with pytest.raises(InputError, match="text or image"):
        vote_filter(kind="video")
    assert votes.pair_counts("text") == {("a", "b"): 4}


def test_the_pictures_a_vote_judged_outlive_the_gallery_records(tmp_path, database_url):
    store = Store(tmp_path / "store", orphan_grace_s=0, database_url=database_url)
    left, right = (new_record(store, model=m, output="image") for m in ("p", "q"))
    store.save(left, [Image.new("RGB", (8, 8), "red")])
    store.save(right, [Image.new("RGB", (8, 8), "blue")])
    sha_left, sha_right = store.get(left.id).images[0], store.get(right.id).images[0]
    votes = StoreVotes(store)
    vote = cast(votes, "b1", "a", kind="image", a="p", b="q", output_a=left.id, output_b=right.id)
    assert store.delete(left.id) and store.delete(right.id)
    store.recover()
    assert store.images.path(sha_left).exists() and store.images.path(sha_right).exists()
    (kept,) = VoteStore(store).rows()
    assert (kept.output_a, kept.output_b) == (left.id, right.id)
    votes.undo(vote, "anonymous")
    assert not store.images.path(sha_left).exists() and not store.images.path(sha_right).exists()


def test_export_then_import_keeps_counts_and_ratings(store, tmp_path, another_database):
    votes = StoreVotes(store)
    for n, (a, b, outcome) in enumerate([("x", "y", "a")] * 7 + [("y", "z", "b")] * 5 + [("x", "z", "tie")] * 3
                                        + [("x", "y", "bothbad")] * 2):
        cast(votes, f"b{n}", outcome, a=a, b=b, voter=f"v{n}", reason="=HYPERLINK(\"http://x\")",
             case_tags=["a", "b"])
    out = tmp_path / "votes.jsonl"
    assert export_votes(store, out) == 17
    fresh = Store(tmp_path / "fresh", database_url=another_database())
    assert import_votes(fresh, out) == (17, 0)
    assert import_votes(fresh, out) == (0, 17)
    assert sorted(VoteStore(fresh).counts()) == sorted(VoteStore(store).counts())
    assert board(fresh).to_dicts() == board(store).to_dicts()
    assert VoteStore(fresh).rows()[0].case_tags == ["a", "b"]
    csv_file = tmp_path / "votes.csv"
    assert export_votes(store, csv_file) == 17
    lines = csv_file.read_text().splitlines()
    assert lines[0].startswith("id,battle_id,kind,model_a,model_b,side_a,side_b,outcome,reason")
    assert all(",\"'=HYPERLINK(\"\"http://x\"\")\"," in line for line in lines[1:])


def test_fastchat_battles_import_as_json_list_or_lines(store, tmp_path):
    battles = [
        {"model_a": "gpt-x", "model_b": "llama-y", "winner": "model_a", "tstamp": 1700000000.5, "judge": "u1",
         "anony": True, "question_id": "q1"},
        {"model_a": "gpt-x", "model_b": "llama-y", "winner": "model_b", "judge": "u2"},
        {"model_a": "gpt-x", "model_b": "llama-y", "winner": "model_b", "judge": "u2"},
        {"model_a": "llama-y", "model_b": "mix-z", "winner": "tie"},
        {"model_a": "llama-y", "model_b": "mix-z", "winner": "tie (bothbad)", "anony": False},
    ]
    listed = tmp_path / "battles.json"
    listed.write_text(json.dumps(battles))
    lines = tmp_path / "battles.jsonl"
    lines.write_text("\n".join(json.dumps(b) for b in battles) + "\n")
    assert import_votes(store, listed) == (5, 0)
    assert import_votes(store, lines) == (0, 5)  # the same battles, recognised
    stored = {(v.model_a, v.model_b, v.outcome, v.voter, v.voter_kind) for v in VoteStore(store).rows()}
    assert stored == {("gpt-x", "llama-y", "a", "u1", "people_blind"), ("gpt-x", "llama-y", "b", "u2", "people_blind"),
                      ("llama-y", "mix-z", "tie", "imported", "people_blind"),
                      ("llama-y", "mix-z", "bothbad", "imported", "people_named")}
    assert VoteStore(store).count() == 5
    first = next(v for v in VoteStore(store).rows() if v.voter == "u1")
    assert first.created_at == 1700000000.5 and first.kind == "text"
    image = tmp_path / "image.jsonl"
    image.write_text(json.dumps({"model_a": "p", "model_b": "q", "winner": "model_a"}) + "\n")
    import_votes(store, image, kind="image")
    assert VoteStore(store).counts(vote_filter(kind="image")) == [("p", "q", "a", 1)]


@pytest.mark.parametrize(("content", "words"), [
    ('{"model_a": "a", "model_b": "b", "winner": "model_c"}', "vote 1: 'winner' is one of"),
    ('[{"model_a": "a", "model_b": "b", "winner": "tie"}, 3]', "vote 2: each vote is a JSON object"),
    ('{"model_a": "a"', "line 1, is not a JSON object"),
    ('[{"model_a": "a",', "is not valid JSON"),
    ('{"model_a": "a", "model_b": "a", "winner": "tie"}', "two different models"),
])
def test_bad_files_are_refused_in_a_sentence(store, tmp_path, content, words):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(InputError, match=words):
        import_votes(store, path)
    assert VoteStore(store).count() == 0



def test_the_cap_is_a_setting_and_the_engine_store_takes_it(engine_factory, tmp_path, monkeypatch):
    from arena.settings import Settings

    monkeypatch.setenv("ARENA_VOTE_CAP_PER_DAY", "2")
    assert Settings.from_env().vote_cap_per_day == 2
    assert Settings().vote_cap_per_day == 500
    engine = engine_factory([{"name": "pic-one", "kind": "openai-image", "model": "gpt-image-one",
                              "base_url": "http://127.0.0.1:9/v1"}], vote_cap_per_day=2)
    engine.store = Store(tmp_path / "engine-store")
    votes = StoreVotes.for_engine(engine)
    assert votes.cap_per_day == 2 and "pic-one" in votes.names
    cast(votes, "b1", text_a="made by pic-one")
    cast(votes, "b2")
    with pytest.raises(InputError, match="2 votes a day"):
        cast(votes, "b3")
    assert VoteStore(store=engine.store).rows()[0].leak


VOTER = """
import sys
sys.path.insert(0, sys.argv[3])
from arena.battles.votes import StoreVotes
from arena.errors import InputError
from arena.store import Store
store = Store(sys.argv[1], database_url=sys.argv[2] or None)
votes = StoreVotes(store, cap_per_day=5)
me = sys.argv[4]
print("ready", flush=True)
sys.stdin.readline()
taken = 0
for n in range(10):
    for battle, voter in ((f"shared-{n}", f"voter-{me}"), (f"ana-{me}-{n}", "ana")):
        try:
            votes.add(battle_id=battle, kind="text", model_a="a", model_b="b", outcome="a", voter=voter)
            taken += 1
        except InputError:
            pass
print(taken, flush=True)
"""


def test_processes_voting_at_once_keep_one_vote_a_battle_and_the_daily_cap(tmp_path, database_url):
    import subprocess
    import sys

    from tests.conftest import ROOT

    folder = tmp_path / "store"
    Store(folder, database_url=database_url).close()
    voters = [subprocess.Popen([sys.executable, "-c", VOTER, str(folder), database_url or "", str(ROOT), str(n)],
                               cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
              for n in range(4)]
    for voter in voters:
        assert voter.stdout.readline().strip() == "ready"
    for voter in voters:  # all at once
        voter.stdin.write("go\n")
        voter.stdin.flush()
    taken = [int(voter.communicate(timeout=300)[0]) for voter in voters]
    assert [voter.returncode for voter in voters] == [0] * 4
    store = Store(folder, database_url=database_url)
    rows = VoteStore(store).rows()
    assert len(rows) == sum(taken) == 10 + 5  # each shared battle once; ana's cap of 5 across the processes
    assert len({row.battle_id for row in rows}) == len(rows)
    assert VoteStore(store).voted_today("ana") == 5
    store.close()
