"""Blind battles: pair sampling, anonymity until the vote, votes refused on unfinished or errored battles, the same
seed for generators, judges (loopback judges with scripted verdicts) and "Pick the best" from Compare."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from arena.battles.battle import Battles, parse_outcome
from arena.battles.pairs import pair_key, pick_pair
from arena.errors import InputError
from arena.request import GenerationParams
from arena.store import Store
from arena.ui.words import md
from tests.conftest import openai_entry

# --- pair sampling ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [2, 3, 5, 8])
def test_pairs_are_covered_evenly_for_any_number_of_models(count):
    models = [f"m{i}" for i in range(count)]
    met: Counter = Counter()
    rng = random.Random(4)
    pairs = count * (count - 1) // 2
    for _ in range(pairs * 6):
        left, right = pick_pair(models, met, rng)
        assert left != right and {left, right} <= set(models)
        met[pair_key(left, right)] += 1
    assert len(met) == pairs and set(met.values()) == {6}


def test_the_pair_met_least_comes_first_and_sides_are_random():
    met = Counter({("a", "b"): 5, ("a", "c"): 5, ("b", "c"): 1})
    rng = random.Random(1)
    draws = [pick_pair(["a", "b", "c"], met, rng) for _ in range(40)]
    assert {pair_key(*d) for d in draws} == {("b", "c")}
    assert {d[0] for d in draws} == {"b", "c"}  # either side may be on the left


def test_ties_between_rare_pairs_are_broken_at_random():
    rng = random.Random(7)
    seen = Counter(pair_key(*pick_pair(["a", "b", "c", "d"], {}, rng)) for _ in range(300))
    assert len(seen) == 6 and min(seen.values()) > 20


@pytest.mark.parametrize("models, words", [([], "none is"), (["solo"], "only solo is")])
def test_fewer_than_two_models_is_said_in_a_sentence(models, words):
    with pytest.raises(InputError, match=f"A battle needs two text models .*; {words}"):
        pick_pair(models, {})


def test_outcomes_are_read_from_words_and_codes():
    assert [parse_outcome(v) for v in ("a", "B is better", "Tie", "tie (bothbad)", "both bad")] == \
        ["a", "b", "tie", "bothbad", "bothbad"]
    with pytest.raises(InputError, match="one of"):
        parse_outcome("maybe")


# --- battles through the engine ----------------------------------------------------------------------------------


class MemoryVotes:
    """The vote store's interface, kept in memory (tests of the battle rules, apart from the database)."""

    def __init__(self):
        self.stored: list[dict] = []

    def add(self, **fields):
        if any(v["battle_id"] == fields["battle_id"] for v in self.stored):
            raise InputError("This battle has a vote already.")
        self.stored.append(fields)
        return fields

    def undo(self, vote, voter):
        self.stored.remove(vote)

    def pair_counts(self, kind):
        return Counter(pair_key(v["model_a"], v["model_b"]) for v in self.stored if v["kind"] == kind)


@pytest.fixture
def arena(engine_factory, loopback, keys, tmp_path):
    entries = [
        openai_entry(loopback, "alpha", model="words6-alpha"),
        openai_entry(loopback, "bravo", model="words4-bravo"),
        openai_entry(loopback, "charlie", model="words5-charlie"),
        openai_entry(loopback, "broken", model="fail500", max_retries=0),
        openai_entry(loopback, "slowpoke", model="drip200-words30"),
        {"name": "pic-one", "kind": "openai-image", "model": "gpt-image-one", "base_url": loopback.v1},
        {"name": "pic-two", "kind": "openai-image", "model": "gpt-image-two", "base_url": loopback.v1,
         "params": {"width": 256, "height": 256}},
    ]
    engine = engine_factory(entries)
    engine.store = Store(tmp_path / "store")
    return Battles(engine, votes=MemoryVotes(), rng=random.Random(3))


def test_a_battle_streams_two_anonymous_panes_then_takes_a_vote(arena):
    battle = arena.start("text", "Say a few words.", eligible=["alpha", "bravo"])
    assert set(battle.models) == {"alpha", "bravo"}
    for _ in battle.updates():
        for pane in battle.shown():
            assert pane.model in ("Model A", "Model B") and "alpha" not in str(pane) and "bravo" not in str(pane)
    assert battle.state() == "finished"
    vote = arena.vote(battle, "a", "clearer", voter="ana")
    assert vote["model_a"] == battle.models[0] and vote["outcome"] == "a"
    assert vote["output_a"] and arena.engine.store.get(vote["output_a"]).model == battle.models[0]
    assert [p.model for p in battle.shown()] == list(battle.models)  # revealed
    with pytest.raises(InputError, match="has a vote already"):
        arena.vote(battle, "b", voter="ana")
    with pytest.raises(InputError, match="Only the person who voted"):
        arena.undo(battle, "bob")
    arena.undo(battle, "ana")
    assert arena.votes.stored == [] and battle.state() == "finished"


def test_a_vote_is_refused_while_a_side_still_runs(arena):
    battle = arena.start("text", "Count slowly.", eligible=["slowpoke", "alpha"])
    with pytest.raises(InputError, match="Wait until both sides have finished"):
        arena.vote(battle, "tie", voter="ana")
    battle.current.cancel()
    battle.current.wait()
    with pytest.raises(InputError, match="stopped before it finished"):
        arena.vote(battle, "tie", voter="ana")
    assert arena.votes.stored == []


def test_an_errored_side_ends_the_battle_without_a_vote_and_says_why(arena):
    battle = arena.start("text", "Fail please.", eligible=["broken", "slowpoke"])
    for _ in battle.updates():
        pass
    assert battle.state() == "errored"
    side = "A" if battle.models[0] == "broken" else "B"
    why = battle.why_no_vote()
    assert why.startswith(f"Model {side} failed: the server failed (HTTP 500)")
    assert "broken" not in why and "fail500" not in why
    with pytest.raises(InputError, match="ends without a vote"):
        arena.vote(battle, "a", voter="ana")


def test_pairs_spread_over_battles_counting_votes_and_open_battles(arena):
    eligible = ["alpha", "bravo", "charlie"]
    met = Counter()
    for _ in range(6):
        battle = arena.start("text", "Hello?", eligible=eligible)
        battle.current.wait()
        arena.vote(battle, "tie", voter="ana")
        met[pair_key(*battle.models)] += 1
    assert set(met.values()) == {2}


def test_generators_in_one_battle_get_the_same_seed_and_size(arena):
    battle = arena.start("image", "a charming spider at work")
    assert set(battle.models) == {"pic-one", "pic-two"}
    requests = [job.request.params for job in battle.current.jobs]
    assert requests[0] == requests[1] and requests[0].seed is not None
    assert (requests[0].width, requests[0].height) == (256, 256)
    battle.current.wait()
    assert battle.state() == "finished" and all(p.images for p in battle.snapshots())
    fixed = arena.start("image", "again", params=GenerationParams(seed=9, width=64, height=64))
    assert {(j.request.params.seed, j.request.params.width) for j in fixed.current.jobs} == {(9, 64)}


def test_text_and_image_models_never_meet(arena):
    with pytest.raises(InputError, match="two image generators"):
        arena.start("image", "draw", eligible=["pic-one", "alpha"])
    battle = arena.start("text", "hi", eligible=["alpha", "pic-one", "bravo"])
    assert set(battle.models) == {"alpha", "bravo"}


def test_a_follow_up_goes_to_both_sides_and_stays_anonymous(arena):
    battle = arena.start("text", "First.", eligible=["alpha", "bravo"])
    battle.current.wait()
    with pytest.raises(InputError, match="Type a follow-up"):
        battle.follow_up("  ")
    second = battle.follow_up("And then?")
    assert [job.name for job in second.jobs] == list(battle.models)
    assert all(len(job.request.history) == 2 for job in second.jobs)
    second.wait()
    assert [p.model for p in battle.shown()] == ["Model A", "Model B"]
    vote = arena.vote(battle, "b", voter="ana")
    assert vote["output_b"] == second.snapshots()[1].record_id


# --- the Battle tab's handlers ------------------------------------------------------------------------------------


class Visitor:
    """What Gradio passes a handler as gr.Request: the browser's session, and the login name under --auth."""

    def __init__(self, session: str = "page-1", username: str | None = None):
        self.session_hash = session
        self.username = username


def shown_text(frames) -> str:
    """Everything a handler sent to the page, as text (HTML, Markdown, component updates)."""
    return "\n".join(repr(value) for frame in frames for value in (frame.values() if isinstance(frame, dict)
                                                                    else [frame]))


@pytest.fixture
def view(arena):
    import gradio as gr

    from arena.ui.battle import BattleView

    with gr.Blocks():
        battle_view = BattleView(arena.engine, battles=arena)
        battle_view.build()
    return battle_view


def fields(view, kind="text", prompt="", models=(), case_state=None, mode="same") -> dict:
    """The Battle tab's fields as the page sends them: parameters blank, the size list untouched."""
    params = {box: "model default" if name == "size" else "" for name, box in view.params.fields.items()}
    return {view.kind: kind, view.prompt: prompt, view.image: None, view.models: list(models),
            view.case_state: case_state, view.next_mode: mode, **params}


def start_battle(view, models, prompt="Tell me something.", kind="text", visitor=None):
    frames = list(view.start(fields(view, kind, prompt, models), request=visitor or Visitor()))
    return view._battle((visitor or Visitor()).session_hash), frames


def test_no_name_reaches_the_page_before_the_vote_and_both_after(view):
    battle, frames = start_battle(view, ["alpha", "bravo", "charlie"])
    assert len(frames) >= 2 and battle.state() == "finished"
    before = shown_text(frames)
    assert "Model A" in before and "Model B" in before
    for model in ("alpha", "bravo", "charlie", "words6", "words4", "words5", "OpenAI"):
        assert model not in before
    assert "kept in the gallery" not in before  # a gallery id would lead to the name
    last = frames[-1]
    assert all(last[button].interactive for button in view.vote_buttons.values())
    after = view.vote("b", "more words", "", Visitor())
    assert after[view.voter].startswith("anon-")
    revealed = shown_text([after])
    assert battle.models[0] in revealed and battle.models[1] in revealed and "kept in the gallery" in revealed
    assert after[view.undo_button].interactive and not after[view.vote_buttons["a"]].interactive
    assert view.battles.votes.stored[0]["voter"] == after[view.voter]
    assert view.battles.votes.stored[0]["reason"] == "more words"


def test_the_login_name_is_the_voter_under_auth_and_undo_is_the_voters_own(view):
    visitor = Visitor("page-2", username="ana")
    battle, _ = start_battle(view, ["alpha", "bravo"], visitor=visitor)
    view.vote("tie", "", "anon-123", visitor)
    assert view.battles.votes.stored[-1]["voter"] == "ana"
    undone = view.undo("anon-123", visitor)
    assert "taken back" in undone[view.message] and view.battles.votes.stored == []
    assert all(undone[b].interactive for b in view.vote_buttons.values())


def test_vote_buttons_stay_off_and_a_vote_is_refused_on_an_errored_battle(view):
    battle, frames = start_battle(view, ["broken", "alpha"])
    last = frames[-1]
    assert not any(last[button].interactive for button in view.vote_buttons.values())
    assert "ends without a vote" in last[view.message] and "broken" not in shown_text(frames)
    refused = view.vote("a", "", "", Visitor())
    assert "Vote not taken" in refused[view.message] and view.battles.votes.stored == []


def test_fewer_than_two_eligible_models_is_said_on_the_page(view):
    battle, frames = start_battle(view, ["alpha"])
    assert battle is None and "A battle needs two text models" in frames[-1][view.message]


def test_random_case_and_next_battle_with_a_new_case(view):
    prompt, image, state, info, message = view.random_case("image")
    assert state["suite"] == "seed" and state["case_id"] and prompt and "Case" in info
    frames = list(view.next_battle(fields(view, "image", "", ["pic-one", "pic-two"], mode="case"),
                                   request=Visitor("page-3")))
    battle = view._battle("page-3")
    assert battle.case is not None and battle.case.suite == "seed" and battle.prompt == frames[0][view.prompt]
    shown = fields(view, "image", battle.prompt, ["pic-one", "pic-two"], frames[0][view.case_state])
    same = list(view.next_battle(shown, request=Visitor("page-3")))
    again = view._battle("page-3")
    assert again is not battle and again.prompt == battle.prompt and again.case == battle.case and same


# --- judges -----------------------------------------------------------------------------------------------------


def scripted_judges(answer_words):
    """Loopback judges: "judge-first" always names the answer shown first; "judge-likes-WORD" names the answer
    that holds WORD, whichever side it is on; other models answer as the loopback server does."""
    import re

    from tests.loopback import _prompt_of

    def answer(model: str, body: dict, url: str = ""):
        if model.startswith("judge-first"):
            return ["Verdict: ", "A"]
        liked = re.match(r"judge-likes-(\S+)", model)
        if liked:
            prompt, _ = _prompt_of(body)
            a = prompt.split("[Answer A]", 1)[1].split("[End of answer A]", 1)[0]
            b = prompt.split("[Answer B]", 1)[1].split("[End of answer B]", 1)[0]
            word = liked.group(1)
            verdict = "A" if word in a and word not in b else "B" if word in b and word not in a else "tie"
            return ["After some thought (the format is Verdict: A, B or tie)… ", f"**Verdict:** {verdict}"]
        return answer_words(model, body, url)

    return answer


@pytest.fixture
def judged_run(engine_factory, loopback, keys, tmp_path, monkeypatch):
    import tests.loopback as server
    from arena.suites.model import Suite
    from arena.suites.runner import SuiteRun

    monkeypatch.setattr(server, "answer_words", scripted_judges(server.answer_words))
    entries = [openai_entry(loopback, name, model=f"echo-{name}") for name in ("ant", "bee", "cat")]
    entries += [openai_entry(loopback, "first-judge", model="judge-first"),
                openai_entry(loopback, "bee-judge", model="judge-likes-echo-bee")]
    engine = engine_factory(entries)
    engine.store = Store(tmp_path / "store")
    suite = Suite.model_validate({"name": "tiny", "version": 1, "cases": [
        {"id": "hello", "prompt": "Say hello."}, {"id": "count", "prompt": "Count to three."}]})
    runner = SuiteRun(engine, suite, ["ant", "bee", "cat"], source="tiny.yaml")
    runner.run()
    return engine, runner.run_id


def test_a_judge_that_prefers_the_first_position_gives_ties(judged_run):
    from arena.battles.judge import RunJudge

    engine, run_id = judged_run
    votes = MemoryVotes()
    report = RunJudge(engine, run_id, "first-judge", votes=votes).run_all()
    assert len(report.pairs) == 6 and all(p.verdicts == ("a", "a") for p in report.pairs)
    assert [v["outcome"] for v in votes.stored] == ["tie"] * 6
    assert {v["voter"] for v in votes.stored} == {"first-judge"} and {v["voter_kind"] for v in votes.stored} == \
        {"judge"}
    assert {v["suite"] for v in votes.stored} == {"tiny"} and {v["case_id"] for v in votes.stored} == \
        {"hello", "count"}


def test_a_consistent_judge_gives_its_preference(judged_run):
    from arena.battles.judge import RunJudge

    engine, run_id = judged_run
    votes = MemoryVotes()
    report = RunJudge(engine, run_id, "bee-judge", votes=votes).run_all()
    assert "6 votes stored (4 with a winner, 2 ties)" in report.summary()
    for vote in votes.stored:
        if "bee" in (vote["model_a"], vote["model_b"]):
            assert vote["outcome"] == ("a" if vote["model_a"] == "bee" else "b")
            assert engine.store.get(vote["output_a"]).model == vote["model_a"]
        else:
            assert vote["outcome"] == "tie"


def test_verdicts_are_read_robustly():
    from arena.battles.judge import combine, parse_verdict

    assert parse_verdict("Verdict: A") == "a"
    assert parse_verdict("**Verdict:** [B]") == "b"
    assert parse_verdict("I think both are fine.\nVerdict: tie") == "tie"
    assert parse_verdict("Format: Verdict: A, B or tie.\nVerdict: B") == "b"
    assert parse_verdict(" b. ") == "b"
    assert parse_verdict("A is clearly better") is None and parse_verdict("") is None
    assert combine("a", "b") == "a" and combine("b", "a") == "b"
    assert combine("a", "a") == "tie" and combine("tie", "b") == "tie" and combine("a", None) is None


def test_a_judge_must_exist_and_write_text(judged_run):
    from arena.battles.judge import RunJudge

    engine, run_id = judged_run
    with pytest.raises(InputError, match="No suite run"):
        RunJudge(engine, "nope", "first-judge", votes=MemoryVotes())
    with pytest.raises(InputError, match="Unknown model"):
        RunJudge(engine, run_id, "nobody", votes=MemoryVotes())


def test_pictures_go_to_a_vision_judge_side_by_side(engine_factory, loopback, keys, tmp_path):
    from arena.battles.judge import RunJudge
    from arena.suites.model import Suite
    from arena.suites.runner import SuiteRun

    engine = engine_factory([
        {"name": "pic-one", "kind": "openai-image", "model": "gpt-image-one", "base_url": loopback.v1},
        {"name": "pic-two", "kind": "openai-image", "model": "gpt-image-two", "base_url": loopback.v1},
        openai_entry(loopback, "eye-judge", model="judge-eye"),
        openai_entry(loopback, "blind-judge", model="judge-blind", image_input=False),
    ])
    engine.store = Store(tmp_path / "store")
    suite = Suite.model_validate({"name": "pics", "version": 1, "cases": [
        {"id": "spider", "prompt": "a charming spider at work", "expect": "image"}]})
    runner = SuiteRun(engine, suite, ["pic-one", "pic-two"])
    runner.run()
    votes = MemoryVotes()
    skipped = RunJudge(engine, runner.run_id, "blind-judge", votes=votes).run_all()
    assert skipped.pairs == [] and "pictures need a judge that takes images" in skipped.summary()
    before = len(loopback.bodies("/chat/completions", model="judge-eye"))
    report = RunJudge(engine, runner.run_id, "eye-judge", votes=votes).run_all()
    asked = loopback.bodies("/chat/completions", model="judge-eye")[before:]
    assert len(report.pairs) == 1 and len(asked) == 2
    for body in asked:
        parts = body["messages"][-1]["content"]
        assert any(p.get("type") == "image_url" for p in parts)
        assert "picture A on the left" in " ".join(p.get("text", "") for p in parts)


# --- "Pick the best" in Compare -----------------------------------------------------------------------------------


def test_pick_the_best_wins_against_each_other_pane_of_its_kind(arena):
    from arena.request import Request
    from arena.ui.pick_best import BAD, GOOD, record_pick

    comparison = arena.engine.start(Request("Hello all."), ["alpha", "bravo", "charlie", "broken", "pic-one"])
    panes = comparison.wait()
    votes = MemoryVotes()
    stored = record_pick(votes, panes, 1, voter="ana", prompt="Hello all.")
    assert [(v["model_a"], v["model_b"], v["outcome"]) for v in stored] == \
        [("bravo", "alpha", "a"), ("bravo", "charlie", "a")]  # not the failed pane, not the picture
    assert {v["voter_kind"] for v in stored} == {"people_named"} and stored[0]["output_a"] == panes[1].record_id
    with pytest.raises(InputError, match="has a vote already"):
        record_pick(votes, panes, 1, voter="ana")
    fresh = MemoryVotes()
    assert [v["outcome"] for v in record_pick(fresh, panes, GOOD, voter="ana")] == ["tie"] * 3
    assert [v["outcome"] for v in record_pick(MemoryVotes(), panes, BAD, voter="ana")] == ["bothbad"] * 3
    with pytest.raises(InputError, match="Pick one of the finished answers"):
        record_pick(MemoryVotes(), panes, 3, voter="ana")  # the failed pane
    with pytest.raises(InputError, match="Nothing to compare it with"):
        record_pick(MemoryVotes(), panes, 4, voter="ana")  # the only picture


def test_judge_this_run_from_the_suites_tab_says_how_it_goes(judged_run, monkeypatch):
    import arena.battles.battle as battles
    from arena.ui.battle import judge_this_run

    engine, run_id = judged_run
    votes = MemoryVotes()
    monkeypatch.setattr(battles, "default_votes", lambda engine: votes)
    judge = judge_this_run(engine)
    assert list(judge(None, "bee-judge")) == ["**Cannot judge:** " + md("Pick a finished run first.")]
    assert "Pick a judge model" in list(judge(run_id, None))[0]
    lines = list(judge(run_id, "bee-judge"))
    assert "judging 6 pairs" in lines[0] and "judged 3 of 6" in "\n".join(lines)
    assert "6 votes stored" in lines[-1] and len(votes.stored) == 6


def test_a_follow_up_from_the_page_keeps_both_sides_anonymous(view):
    battle, _ = start_battle(view, ["alpha", "bravo"], visitor=Visitor("page-4"))
    frames = list(view.send("And more?", request=Visitor("page-4")))
    assert len(battle.comparisons) == 2 and frames[0][view.follow_up] == ""
    shown = shown_text(frames)
    assert "Model A" in shown and not any(name in shown for name in ("alpha", "bravo", "words6", "words4"))
    assert all(frames[-1][b].interactive for b in view.vote_buttons.values())
    refused = list(view.send("x", request=Visitor("nobody")))
    assert "Start a battle first" in refused[-1][view.message]


def test_stop_on_the_page_ends_the_battle_without_a_vote(view):
    visitor = Visitor("page-5")
    frames = view.start(fields(view, "text", "Count slowly.", ["slowpoke", "alpha"]), request=visitor)
    first = next(frames)
    assert first[view.stop_button].interactive and not first[view.start_button].interactive
    view.stop(visitor)
    rest = list(frames)
    assert "stopped before it finished" in rest[-1][view.message]
    assert not any(rest[-1][b].interactive for b in view.vote_buttons.values())
    assert rest[-1][view.start_button].interactive and not rest[-1][view.stop_button].interactive


# --- with the gallery's vote store ------------------------------------------------------------------------------


def test_votes_reach_the_database_with_sides_voter_and_case(arena):
    from arena.battles.battle import Battles, CaseRef
    from arena.store.votes import VoteFilter, VoteStore

    battles = Battles(arena.engine, rng=random.Random(5))  # the default: the gallery's vote store
    battle = battles.start("text", "Hello?", eligible=["alpha", "bravo"],
                           case=CaseRef("seed", "1", "hello", ("greeting",)))
    battle.current.wait()
    vote = battles.vote(battle, "B is better", "  clearer  ", voter="ana")
    [stored] = VoteStore(arena.engine.store).rows(VoteFilter(voter_kind=None))
    assert (stored.model_a, stored.model_b, stored.outcome, stored.reason) == (*battle.models, "b", "clearer")
    assert stored.id == vote.id and stored.voter == "ana" and stored.blind and stored.voter_kind == "people_blind"
    assert (stored.suite, stored.case_id, list(stored.case_tags)) == ("seed", "hello", ["greeting"])
    assert stored.output_a == battle.snapshots()[0].record_id
    assert battles.met("text")[pair_key(*battle.models)] == 1
    with pytest.raises(InputError):
        battles.vote(battle, "a", voter="ana")
    battles.undo(battle, "ana")
    assert VoteStore(arena.engine.store).rows(VoteFilter(voter_kind=None)) == []


def test_the_gallery_lists_a_battles_sides_only_once_it_has_its_vote(arena):
    from arena.battles.battle import Battles
    from arena.store import Filter

    store = arena.engine.store
    battles = Battles(arena.engine, rng=random.Random(5))
    battle = battles.start("text", "Which of you is which?", eligible=["alpha", "bravo"])
    battle.current.wait()
    sides = {pane.record_id for pane in battle.snapshots()}
    assert all(sides) and {store.get(i).battle_id for i in sides} == {battle.id}
    assert store.query(Filter())[1] == 0 and store.all(Filter(models=["alpha"])) == []  # names would give it away
    assert {r.id for r in store.all(Filter(open_battles=True))} == sides
    battles.vote(battle, "tie", voter="ana")
    records, total = store.query(Filter())
    assert total == 2 and {r.id for r in records} == sides


def test_judge_votes_are_stored_with_the_judge_as_voter(judged_run):
    from arena.battles.judge import RunJudge
    from arena.store.votes import VoteFilter, VoteStore

    engine, run_id = judged_run
    RunJudge(engine, run_id, "bee-judge").run_all()
    stored = VoteStore(engine.store).rows(VoteFilter(voter_kind="judge", voter="bee-judge"))
    assert len(stored) == 6 and not any(v.blind for v in stored)
    assert sorted(v.outcome for v in stored) == ["a", "a", "b", "b", "tie", "tie"]
    assert VoteStore(engine.store).rows(VoteFilter()) == []  # none among the people's blind votes


def test_battle_judge_from_the_shell(loopback, keys, tmp_path, monkeypatch, capsys):
    import tests.loopback as server
    from arena.catalog import Catalog
    from arena.cli import main
    from arena.engine import Engine
    from arena.settings import Settings
    from arena.store.votes import VoteFilter, VoteStore
    from arena.suites.model import Suite
    from arena.suites.runner import SuiteRun
    from tests.apprunner import write_catalog

    monkeypatch.setattr(server, "answer_words", scripted_judges(server.answer_words))
    catalog = write_catalog(tmp_path / "catalog.yaml", [
        openai_entry(loopback, "ant", model="echo-ant"), openai_entry(loopback, "bee", model="echo-bee"),
        openai_entry(loopback, "bee-judge", model="judge-likes-echo-bee")])
    monkeypatch.setenv("ARENA_CATALOG", str(catalog))
    settings = Settings.from_env()
    store = Store(settings.data_dir)
    engine = Engine(Catalog.load(catalog), settings, store)
    suite = Suite.model_validate({"name": "tiny", "version": 1, "cases": [{"id": "hello", "prompt": "Hi."}]})
    runner = SuiteRun(engine, suite, ["ant", "bee"])
    runner.run()
    engine.close()
    assert main(["battle", "judge", runner.run_id, "--judge", "bee-judge"]) == 0
    out = capsys.readouterr().out
    assert "hello: ant vs bee: bee wins" in out and "1 vote stored (1 with a winner, 0 ties)" in out
    assert [v.outcome for v in VoteStore(store).rows(VoteFilter(voter_kind="judge"))] == ["b"]
    assert main(["battle", "judge", "no-such-run", "--judge", "bee-judge"]) == 2
    assert "No suite run with id no-such-run" in capsys.readouterr().err


def test_pick_the_best_row_lists_finished_answers_and_records_named_votes(arena):
    from types import SimpleNamespace

    import gradio as gr

    from arena.request import Request
    from arena.store.votes import VoteFilter, VoteStore
    from arena.ui.board import Shown
    from arena.ui.pick_best import GOOD, PickBest

    boards = {}
    with gr.Blocks():
        row = PickBest(arena.engine, lambda request: boards.get(request.session_hash))
        row.build()
    visitor = Visitor("page-9")
    choice, button, message = row.open(visitor)
    assert "Run a comparison" in message and choice.visible is False
    comparison = arena.engine.start(Request("Hello all."), ["alpha", "bravo", "broken"])
    comparison.wait()
    boards["page-9"] = SimpleNamespace(slots=[Shown(comparison, i) for i in range(3)])
    choice, button, message = row.open(visitor)
    labels = [label for label, _ in choice.constructor_args["choices"]]
    assert labels == ["1 · alpha", "2 · bravo", "All equally good", "All equally bad"] and button.visible
    assert "Choose the best" in row.record(None, "", visitor)[2]
    _, _, said, voter = row.record(1, "", visitor)
    assert said == "Recorded 1 named vote." and voter.startswith("anon-")  # a browser's random id is not shown
    [vote] = VoteStore(arena.engine.store).rows(VoteFilter(voter_kind="people_named"))
    assert (vote.model_a, vote.model_b, vote.outcome, vote.blind) == ("bravo", "alpha", "a", False)
    assert "Not recorded" in row.record(1, voter, visitor)[2]  # the same pick again
    assert row.record(GOOD, voter, Visitor("page-9", username="ana"))[2] == "Recorded 1 named vote as ana."


def test_an_answer_naming_a_vendor_is_flagged_and_the_reveal_says_so(engine_factory, loopback, keys, tmp_path):
    import gradio as gr

    from arena.ui.battle import BattleView

    engine = engine_factory([openai_entry(loopback, "delta", model="echo-mistral-delta"),
                             openai_entry(loopback, "alpha", model="words6-alpha")])
    engine.store = Store(tmp_path / "store")
    with gr.Blocks():
        view = BattleView(engine)
        view.build()
    battle, frames = start_battle(view, ["delta", "alpha"])
    assert "Hello from echo-mistral-delta" in shown_text(frames)  # the answer itself gives the name away
    after = view.vote("tie", "", "", Visitor())
    assert battle.vote.leak and "left out of the blind leaderboard" in after[view.reveal]


def test_judge_votes_carry_the_cases_tags_from_the_suite_file(engine_factory, loopback, keys, tmp_path, monkeypatch):
    import tests.loopback as server
    from arena.battles.judge import RunJudge
    from arena.store.votes import VoteFilter, VoteStore
    from arena.suites.model import load_suite
    from arena.suites.runner import SuiteRun

    monkeypatch.setattr(server, "answer_words", scripted_judges(server.answer_words))
    entries = [openai_entry(loopback, name, model=f"echo-{name}") for name in ("ant", "bee")]
    entries.append(openai_entry(loopback, "bee-judge", model="judge-likes-echo-bee"))
    engine = engine_factory(entries)
    engine.store = Store(tmp_path / "store")
    path = tmp_path / "tagged.yaml"
    path.write_text("name: tagged\nversion: 1\ncases:\n  - {id: hello, prompt: Say hello., tags: [greeting]}\n"
                    "  - {id: count, prompt: Count to three., tags: [maths]}\n")
    runner = SuiteRun(engine, load_suite(path), ["ant", "bee"], source=str(path))
    runner.run()
    RunJudge(engine, runner.run_id, "bee-judge").run_all()
    votes = VoteStore(engine.store)
    greeting = votes.rows(VoteFilter(voter_kind="judge", voter="bee-judge", case_tag="greeting"))
    assert [(v.case_id, list(v.case_tags)) for v in greeting] == [("hello", ["greeting"])]
    assert len(votes.rows(VoteFilter(voter_kind="judge", case_tag="maths"))) == 1


def test_opening_the_tab_lists_models_available_now_and_keeps_what_was_unticked(view, monkeypatch):
    listed = ["alpha", "bravo", "charlie"]
    monkeypatch.setattr(view.battles, "available", lambda kind: list(listed))
    listed.append("delta")  # became available since the page was drawn (a server discovered, a download done)
    update, known = view.refresh_models("text", ["alpha", "charlie"], ["alpha", "bravo", "charlie"])
    assert [value for value, _ in update.choices] == ["alpha", "bravo", "charlie", "delta"]
    assert update.value == ["alpha", "charlie", "delta"] and known == listed


def test_a_closed_page_lets_its_battle_go(view):
    visitor = Visitor("closing-page")
    battle, _ = start_battle(view, ["slowpoke", "alpha"], visitor=visitor)
    assert view._battle("closing-page") is battle
    view.forget(visitor)
    assert view._battle("closing-page") is None
