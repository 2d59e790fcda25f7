"""Named users: the users file (argon2id hashes, written 0600), `python -m arena users`, and the app signing people
in by name: what each one makes and votes is recorded with their name, and a user's own vote cap holds."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from types import SimpleNamespace

import httpx
import pytest
from argon2 import PasswordHasher
from gradio_client import Client
from gradio_client.exceptions import AppError, AuthenticationError

from arena.errors import InputError
from arena.request import Request
from arena.store import Filter, Store
from arena.store.votes import VoteFilter, VoteStore
from arena.suites.model import load_suite
from arena.suites.runner import SuiteRun
from arena.users import (
    FIRST_WAIT_S,
    FREE_ATTEMPTS,
    HASHER,
    SIGN_IN_MESSAGE,
    SignInThrottle,
    SignOutOnChange,
    UsersFile,
    for_app,
    gradio_auth,
)
from arena.web import parse_args
from tests.apprunner import environment, running_app, write_catalog
from tests.conftest import LOOPBACK_KEY, ROOT, openai_entry


def test_the_file_round_trips_with_salted_argon2id_hashes(tmp_path):
    users = UsersFile(tmp_path / "team" / "users.toml")
    assert users.users() == {} and not users.verify("alice", "whatever1")
    assert users.add("alice", "correct horse", vote_cap=3) is True
    assert users.add("bob", "correct horse") is True
    listed = UsersFile(users.path).users()  # read afresh from the file
    assert set(listed) == {"alice", "bob"} and listed["alice"].vote_cap == 3 and listed["bob"].vote_cap is None
    alice, bob = listed["alice"].hash, listed["bob"].hash
    assert alice.startswith("$argon2id$") and bob.startswith("$argon2id$")
    assert alice != bob  # the same password, salted differently
    assert "correct horse" not in users.path.read_text() and "hash" not in repr(listed["alice"])
    assert users.verify("alice", "correct horse") and users.verify("bob", "correct horse")
    assert not users.verify("alice", "correct horsE") and not users.verify("alice", "")
    assert not users.verify("carol", "correct horse")
    assert users.vote_cap("alice") == 3 and users.vote_cap("bob") is None and users.vote_cap("carol") is None


def test_the_file_is_written_atomically_for_its_owner_only(tmp_path):
    users = UsersFile(tmp_path / "users.toml")
    users.add("alice", "correct horse")
    assert stat.S_IMODE(users.path.stat().st_mode) == 0o600
    users.path.chmod(0o644)
    users.add("bob", "battery staple")  # a rewrite makes it private again
    assert stat.S_IMODE(users.path.stat().st_mode) == 0o600
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == [".users.toml.lock", "users.toml"]  # the editors' lock, and no temporary file left beside it


def test_a_new_password_keeps_the_cap_and_an_old_weak_hash_is_replaced_at_sign_in(tmp_path):
    users = UsersFile(tmp_path / "users.toml")
    users.add("alice", "correct horse", vote_cap=7)
    users.add("alice", "battery staple")
    assert users.vote_cap("alice") == 7 and users.verify("alice", "battery staple")
    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("old password")
    users.path.write_text(f'[users.bob]\nhash = "{weak}"\nvote_cap = 2\n')
    assert users.verify("bob", "old password")
    rehashed = UsersFile(users.path).users()["bob"]
    assert rehashed.hash != weak and not HASHER.check_needs_rehash(rehashed.hash) and rehashed.vote_cap == 2
    assert users.verify("bob", "old password") and not users.verify("bob", "wrong password")


def test_a_change_to_the_file_is_seen_by_a_reader_that_read_it_before(tmp_path):
    reader, writer = UsersFile(tmp_path / "users.toml"), UsersFile(tmp_path / "users.toml")
    writer.add("alice", "correct horse")
    assert reader.verify("alice", "correct horse")
    writer.add("bob", "battery staple")
    writer.add("alice", "a new password")
    assert reader.verify("bob", "battery staple") and reader.verify("alice", "a new password")
    assert not reader.verify("alice", "correct horse")
    writer.remove("bob")
    assert not reader.verify("bob", "battery staple")


@pytest.mark.parametrize("name", ["", " ", "al ice", "-alice", "../alice", "ali\nce", "a" * 65, "名前", "a:b"])
def test_names_outside_the_rule_are_refused(tmp_path, name):
    with pytest.raises(InputError, match="A user name is 1 to 64 letters"):
        UsersFile(tmp_path / "users.toml").add(name, "correct horse")


def test_short_passwords_and_bad_files_are_refused_in_a_sentence(tmp_path):
    users = UsersFile(tmp_path / "users.toml")
    with pytest.raises(InputError, match="at least 8 characters"):
        users.add("alice", "short")
    users.path.write_text("[users.alice]\nhash = 3\n")
    with pytest.raises(InputError, match="needs a valid name and a hash"):
        users.users()
    users.path.write_text("not toml [")
    with pytest.raises(InputError, match="Cannot read the users file"):
        users.users()


def test_sign_ins_end_when_a_user_is_removed_or_given_a_new_password(tmp_path):
    users = UsersFile(tmp_path / "users.toml")
    for name in ("alice", "bob", "carol"):
        users.add(name, f"{name}'s password")
    passed: list[dict] = []

    async def app(scope, receive, send):
        passed.append(scope)

    middleware = SignOutOnChange(app, users)
    tokens = {"t1": "alice", "t2": "bob", "t3": "carol", "t4": "alice"}
    gradio = SimpleNamespace(tokens=tokens)  # Gradio's app: each sign-in's token → name
    request = {"type": "http", "app": gradio}
    asyncio.run(middleware(request, None, None))
    assert len(tokens) == 4 and passed == [request]
    UsersFile(users.path).remove("bob")
    UsersFile(users.path).add("carol", "a new password")
    asyncio.run(middleware(request, None, None))
    assert tokens == {"t1": "alice", "t4": "alice"} and len(passed) == 2
    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("alice's password")
    users.path.write_text(users.path.read_text().replace(users.users()["alice"].hash, weak))
    asyncio.run(middleware(request, None, None))
    assert tokens == {}  # a hash written anew by someone else: a new password, as far as anyone can tell
    tokens.update(t5="alice")
    assert users.verify("alice", "alice's password")  # the weak hash is made strong at this sign-in ...
    asyncio.run(middleware(request, None, None))
    assert tokens == {"t5": "alice"} and users.users()["alice"].hash != weak  # ... which signs no one out


def arena(*args: str, stdin: str = "", data_dir) -> subprocess.CompletedProcess:
    env = {**os.environ, "ARENA_DATA_DIR": str(data_dir)}
    env.pop("ARENA_USERS_FILE", None)
    return subprocess.run([sys.executable, "-m", "arena", *args], input=stdin, capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)


def test_the_users_commands_add_list_and_remove(tmp_path):
    data = tmp_path / "data"
    added = arena("users", "add", "alice", "--vote-cap", "5", stdin="correct horse\n", data_dir=data)
    assert added.returncode == 0, added.stderr
    assert "added alice" in added.stderr and "correct horse" not in added.stdout + added.stderr
    assert arena("users", "add", "bob", stdin="battery staple\n", data_dir=data).returncode == 0
    users = UsersFile(data / "users.toml")  # the default file: DATA_DIR/users.toml
    assert users.verify("alice", "correct horse") and users.verify("bob", "battery staple")
    listed = arena("users", "list", data_dir=data)
    assert listed.returncode == 0 and listed.stdout.split("\n")[0].split()[:2] == ["alice", "5"]
    assert "bob" in listed.stdout and "argon2" not in listed.stdout and "2 users" in listed.stderr
    changed = arena("users", "add", "bob", stdin="another password\n", data_dir=data)
    assert "new password for bob" in changed.stderr and users.verify("bob", "another password")
    assert arena("users", "remove", "bob", data_dir=data).returncode == 0
    assert set(users.users()) == {"alice"}
    elsewhere = tmp_path / "elsewhere.toml"
    assert arena("users", "add", "carol", "--file", str(elsewhere), stdin="correct horse\n",
                 data_dir=data).returncode == 0
    assert set(UsersFile(elsewhere).users()) == {"carol"} and set(users.users()) == {"alice"}


def test_users_added_at_the_same_time_are_all_kept(tmp_path):
    data = tmp_path / "data"
    env = {**os.environ, "ARENA_DATA_DIR": str(data)}
    env.pop("ARENA_USERS_FILE", None)
    adding = [subprocess.Popen([sys.executable, "-m", "arena", "users", "add", f"user{n}"], stdin=subprocess.PIPE,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=env, text=True)
              for n in range(4)]
    for process in adding:
        process.communicate("correct horse\n", timeout=120)
    assert [process.returncode for process in adding] == [0] * 4
    assert set(UsersFile(data / "users.toml").users()) == {f"user{n}" for n in range(4)}


def test_the_users_commands_say_what_is_wrong(tmp_path):
    data = tmp_path / "data"
    bad = arena("users", "add", "no good", stdin="correct horse\n", data_dir=data)
    assert bad.returncode == 2 and bad.stderr.startswith("arena: A user name is") and "Traceback" not in bad.stderr
    short = arena("users", "add", "alice", stdin="short\n", data_dir=data)
    assert short.returncode == 2 and "at least 8 characters" in short.stderr
    missing = arena("users", "remove", "nobody", data_dir=data)
    assert missing.returncode == 1 and "no users file at" in missing.stderr
    assert not (data / "users.toml").exists()


def test_which_users_file_the_app_signs_in_with(tmp_path):
    data = tmp_path / "data"
    assert for_app(None, None, data) is None  # no file: nobody signs in by name
    with pytest.raises(SystemExit, match="no users in"):
        for_app(tmp_path / "missing.toml", None, data)
    UsersFile(data / "users.toml").add("alice", "correct horse")
    assert for_app(None, None, data).path == data / "users.toml"  # DATA_DIR/users.toml, where it exists
    with pytest.raises(SystemExit, match="both --auth"):
        for_app(None, "ana:s3cret", data)
    with environment(ARENA_USERS_FILE=str(tmp_path / "named.toml")):
        assert parse_args([]).users == str(tmp_path / "named.toml")
    for empty in ("", "  "):  # `--users "$ARENA_USERS_FILE"` with the variable unset: no silent open app
        with pytest.raises(SystemExit, match="--users was given an empty path"):
            for_app(empty, None, data)


def test_the_app_will_not_start_open_when_its_users_file_is_an_empty_path(tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {**os.environ, "ARENA_DATA_DIR": str(tmp_path / "data")}
    started = subprocess.run([sys.executable, "app.py", "--port", "0", "--users", ""], capture_output=True,
                             text=True, cwd=ROOT, env=env, timeout=120)
    assert started.returncode != 0 and "--users was given an empty path" in started.stderr


def test_what_a_signed_in_engine_starts_is_kept_with_the_name(engine_factory, keys, loopback, tmp_path):
    engine = engine_factory([openai_entry(loopback, "echo")])
    engine.store = Store(tmp_path / "data")
    alice = engine.signed_in("alice")
    assert engine.signed_in(None) is engine and alice.signed_in("alice") is alice
    assert engine.user_name is None and alice.store is engine.store and alice.catalog is engine.catalog
    [mine] = alice.start(Request("hello from alice"), ["echo"]).wait()
    [nobodys] = engine.start(Request("hello from nobody"), ["echo"]).wait()
    assert engine.store.get(mine.record_id).user_name == "alice"
    assert engine.store.get(nobodys.record_id).user_name is None
    path = tmp_path / "suite.yaml"
    path.write_text("name: named\nversion: 1\ncases:\n  - {id: a, prompt: hello from a suite}\n")
    runner = SuiteRun(alice, load_suite(path), ["echo"])
    [cell] = runner.run()
    assert cell.status == "done" and engine.store.get_run(runner.run_id).user_name == "alice"
    records, _ = engine.store.query(Filter(run_id=runner.run_id))
    assert [record.user_name for record in records] == ["alice"]


class CountingUsers:
    """A users file's verify, counted: whether a refused sign-in still ran argon2."""

    def __init__(self, users: UsersFile):
        self.users, self.checks = users, 0

    def verify(self, name: str, password: str) -> bool:
        self.checks += 1
        return self.users.verify(name, password)


def test_wrong_passwords_in_a_row_make_a_name_wait_longer_each_time(tmp_path):
    users = UsersFile(tmp_path / "users.toml")
    users.add("dave", "dave's password")
    now = [1000.0]
    counting = CountingUsers(users)
    auth = gradio_auth(counting, SignInThrottle(clock=lambda: now[0]))

    def sign_in(name: str, password: str) -> bool:
        return asyncio.run(auth(name, password))

    assert sign_in("dave", "dave's password")
    for _ in range(FREE_ATTEMPTS):
        assert not sign_in("dave", "a guess")
    checks = counting.checks
    assert not sign_in("dave", "dave's password") and not sign_in(" DAVE ", "dave's password")
    assert counting.checks == checks  # refused without running argon2
    assert sign_in("erin", "whatever") is False  # other names are not held up by dave's
    now[0] += FIRST_WAIT_S
    assert not sign_in("dave", "another guess")  # the wait is over; one more wrong doubles it
    now[0] += FIRST_WAIT_S
    assert not sign_in("dave", "dave's password")
    now[0] += FIRST_WAIT_S
    assert sign_in("dave", "dave's password")  # waited 2 × FIRST_WAIT_S: let in, and the count starts over
    assert not sign_in("dave", "a guess") and sign_in("dave", "dave's password")


def test_the_sign_in_page_says_how_many_wrong_passwords_a_name_may_have():
    assert f"After {FREE_ATTEMPTS} wrong passwords in a row" in SIGN_IN_MESSAGE


# --- the running app ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def team(tmp_path_factory, loopback):
    folder = tmp_path_factory.mktemp("team")
    users = UsersFile(folder / "users.toml")
    users.add("alice", "alice's password", vote_cap=1)
    users.add("bob", "bob's password")
    catalog = write_catalog(folder / "catalog.yaml", [
        openai_entry(loopback, "echo"),
        openai_entry(loopback, "alpha", model="words6-alpha"),
        openai_entry(loopback, "bravo", model="words4-bravo"),
    ])
    with environment(OPENAI_API_KEY=LOOPBACK_KEY, ARENA_DATA_DIR=str(folder / "data")), \
            running_app(catalog, "--users", str(users.path)) as (url, engine):
        yield url, engine, users


def login(url: str, name: str, password: str) -> tuple[int, str | None]:
    """Gradio's own sign-in form, posted: the status, and the reason when refused."""
    answer = httpx.post(f"{url}/login", data={"username": name, "password": password}, timeout=30)
    return answer.status_code, None if answer.is_success else answer.json().get("detail")


def battle_and_vote(client: Client) -> dict:
    final = client.predict(prompt="Say something.", kind="text", models=["alpha", "bravo"], api_name="/battle")
    assert final["vote_allowed"] is True
    return client.predict(battle_id=final["battle_id"], outcome="a", reason="", api_name="/vote")


def test_each_user_signs_in_and_what_they_make_and_vote_carries_their_name(team):
    url, engine, users = team
    with pytest.raises(AuthenticationError):
        Client(url, verbose=False)
    assert login(url, "alice", "bob's password") == (400, "Incorrect credentials.")
    assert login(url, "mallory", "alice's password") == (400, "Incorrect credentials.")
    assert login(url, "alice", "alice's password") == (200, None)
    alice = Client(url, auth=("alice", "alice's password"), verbose=False)
    bob = Client(url, auth=("bob", "bob's password"), verbose=False)
    for client, name in ((alice, "alice"), (bob, "bob")):
        result = client.predict(prompt=f"hello from {name}", models=["echo"], api_name="/compare")
        assert result["panes"][0]["status"] == "done"
        records, _ = engine.store.query(Filter(words=f"hello from {name}"))
        assert [record.user_name for record in records] == [name]
    votes = {}
    for client, name in ((alice, "alice"), (bob, "bob")):
        voted = battle_and_vote(client)
        assert {engine.store.get(output).user_name for output in voted["outputs"].values()} == {name}
        votes[voted["battle_id"]] = name
    stored = VoteStore(engine.store).rows(VoteFilter(voter_kind=None))
    assert {vote.battle_id: vote.voter for vote in stored if vote.battle_id in votes} == votes


def test_a_users_own_vote_cap_holds_and_others_vote_on(team):
    url, engine, users = team
    alice = Client(url, auth=("alice", "alice's password"), verbose=False)
    bob = Client(url, auth=("bob", "bob's password"), verbose=False)
    if not VoteStore(engine.store).voted_today("alice"):
        battle_and_vote(alice)
    with pytest.raises(AppError, match="1 votes a day is the most one voter may cast"):
        battle_and_vote(alice)
    assert battle_and_vote(bob)["accepted"] is True  # bob has the app's cap (500)


def test_the_running_app_holds_a_name_back_after_wrong_passwords(team):
    url, engine, users = team
    UsersFile(users.path).add("frank", "frank's password")
    for _ in range(FREE_ATTEMPTS):
        assert login(url, "frank", "a guess") == (400, "Incorrect credentials.")
    assert login(url, "frank", "frank's password") == (400, "Incorrect credentials.")
    assert login(url, "bob", "bob's password") == (200, None)
    refused = httpx.get(f"{url}/config", timeout=30)  # what the sign-in page shows above its form
    assert refused.status_code == 401 and refused.json()["detail"]["auth_message"] == SIGN_IN_MESSAGE


def test_a_user_added_while_the_app_runs_signs_in_at_once(team):
    url, engine, users = team
    assert login(url, "carol", "carol's password")[0] == 400
    UsersFile(users.path).add("carol", "carol's password")
    carol = Client(url, auth=("carol", "carol's password"), verbose=False)
    carol.predict(prompt="hello from carol", models=["echo"], api_name="/compare")
    records, _ = engine.store.query(Filter(words="hello from carol"))
    assert [record.user_name for record in records] == ["carol"]
    UsersFile(users.path).remove("carol")
    assert login(url, "carol", "carol's password")[0] == 400
    with pytest.raises(httpx.HTTPStatusError, match="401"):  # her sign-in from before is gone too
        carol.predict(prompt="still here?", models=["echo"], api_name="/compare")
    assert not engine.store.query(Filter(words="still here"))[1]
