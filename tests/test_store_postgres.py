"""The store on a PostgreSQL server that fails: down at start (one line, no hang, no password), stopped while the
app runs (outputs say 'not saved', the app keeps answering, saving resumes when the server is back), a statement
refused (one sentence). The store's ordinary behaviour on PostgreSQL is tested by the store suites themselves
(tests/test_store.py, test_store_runs.py, test_votes.py run on both engines)."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys

import pytest

from arena.errors import StorageError
from arena.store import Filter, Store
from tests import postgres as server
from tests.conftest import LOOPBACK_KEY, ROOT, openai_entry
from tests.helpers import new_record

postgres, postgres_url = server.postgres, server.postgres_url  # fixtures
PASSWORD = server.PASSWORD


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens there once the probe is closed


def test_psycopg_is_loaded_only_for_a_postgresql_url(tmp_path):
    script = ("import sys; from arena.store import Store; Store(sys.argv[1]).close(); "
              "print('psycopg' in sys.modules, 'psycopg_pool' in sys.modules)")
    shown = subprocess.run([sys.executable, "-c", script, str(tmp_path / "data")], cwd=ROOT, capture_output=True,
                           text=True, check=True, timeout=60)
    assert shown.stdout.split() == ["False", "False"]


def test_a_database_down_at_start_stops_the_cli_and_the_app_with_one_line(tmp_path, monkeypatch, capsys):
    from arena.cli import main as cli
    from arena.web import main as app
    from tests.apprunner import write_catalog

    port = _closed_port()
    url = f"postgresql://arena:{PASSWORD}@127.0.0.1:{port}/arena"
    expected = f"arena: The database postgresql://arena@127.0.0.1:{port}/arena cannot be reached (Connection refused)."
    monkeypatch.setenv("ARENA_DATA_DIR", str(tmp_path / "data"))
    assert cli(["--database-url", url, "gallery", "list"]) == 2
    error = capsys.readouterr().err
    assert error == expected + "\n"
    catalog = write_catalog(tmp_path / "c.yaml", [{"name": "echo", "kind": "openai-chat", "model": "echo"}])
    with pytest.raises(SystemExit) as stopped:
        app(["--catalog", str(catalog), "--port", "0", "--database-url", url])
    assert str(stopped.value) == expected
    # The environment variable does the same, for every command.
    monkeypatch.setenv("ARENA_DATABASE_URL", url)
    shown = subprocess.run([sys.executable, "-m", "arena", "suite", "runs"], cwd=ROOT, capture_output=True,
                           text=True, timeout=120)
    assert shown.returncode == 2 and shown.stderr == expected + "\n" and PASSWORD not in shown.stderr


def test_a_wrong_password_or_database_is_said_without_the_password(postgres, tmp_path):
    wrong = postgres.url("arena_test_none").replace(PASSWORD, PASSWORD + "-wrong")
    with pytest.raises(StorageError) as refused:
        Store(tmp_path / "data", database_url=wrong)
    message = str(refused.value)
    assert message.startswith(f"The database postgresql://arena@127.0.0.1:{postgres.port}/arena_test_none "
                              "refused the login (FATAL: password authentication failed for user")
    assert PASSWORD not in message and "\n" not in message
    with pytest.raises(StorageError, match='refused the login .*database "no_such_database" does not exist') as missing:
        Store(tmp_path / "data", database_url=postgres.url("no_such_database"))
    assert PASSWORD not in str(missing.value)


def test_a_role_that_may_not_create_extensions_still_migrates_and_searches_prompt_words(postgres, tmp_path):
    postgres.admin("CREATE DATABASE arena_not_owner")  # owned by postgres: arena may not CREATE EXTENSION there
    postgres.admin("GRANT CREATE, USAGE ON SCHEMA public TO arena", database="arena_not_owner")
    store = Store(tmp_path / "data", database_url=postgres.url("arena_not_owner"))
    for prompt in ("un café crème", "a cafe"):
        store.save(new_record(store, prompt=prompt))
    assert store.query(Filter(words="café"))[1] == 1  # accents kept, as 'simple' keeps them
    assert store.query(Filter(words="cafe crème"))[0] == []
    store.close()


def test_a_refused_statement_is_one_sentence(postgres_url, tmp_path):
    store = Store(tmp_path / "data", database_url=postgres_url)
    with pytest.raises(StorageError) as refused, store.transaction() as db:
        db.execute("SELECT no_such_column FROM outputs")
    assert str(refused.value).endswith('refused a statement: column "no_such_column" does not exist.')
    assert PASSWORD not in str(refused.value)
    record = store.save(new_record(store, text="the connection is fine after a refused statement"))
    assert store.get(record.id) == record
    store.close()


def test_server_stopped_mid_run_outputs_say_not_saved_and_saving_resumes(postgres, postgres_url, tmp_path, loopback,
                                                                         monkeypatch, caplog):
    from gradio_client import Client

    from tests.apprunner import running_app, write_catalog

    monkeypatch.setenv("OPENAI_API_KEY", LOOPBACK_KEY)
    monkeypatch.setenv("ARENA_DATA_DIR", str(tmp_path / "data"))
    catalog = write_catalog(tmp_path / "catalog.yaml", [openai_entry(loopback, "echo")])
    with caplog.at_level(logging.INFO), running_app(catalog, "--database-url", postgres_url) as (url, engine):
        client = Client(url, verbose=False)
        before = client.predict(prompt="saved while the server is up", models=["echo"], api_name="/compare")
        assert "unsaved" not in before["panes"][0] and engine.store.count() == 1
        with postgres.stopped():
            during = client.predict(prompt="while the database is down", models=["echo"], api_name="/compare")
            [pane] = during["panes"]
            assert pane["status"] == "done" and pane["text"].startswith("Hello from echo")  # the answer stays
            assert pane["unsaved"].startswith(f"not saved in the gallery: The database postgresql://arena@127.0.0.1:"
                                              f"{postgres.port}/")
            assert "cannot be reached" in pane["unsaved"] and "\n" not in pane["unsaved"]
            with pytest.raises(StorageError, match="cannot be reached"):
                engine.store.count()
            # The app keeps serving comparisons.
            assert client.predict(prompt="still up?", models=["echo"], api_name="/compare")["finished"]
        after = client.predict(prompt="saved once the server is back", models=["echo"], api_name="/compare")
        assert "unsaved" not in after["panes"][0]
        assert [r.prompt for r in engine.store.query(Filter())[0]] == ["saved once the server is back",
                                                                       "saved while the server is up"]
    for text in (caplog.text, pane["unsaved"]):
        assert PASSWORD not in text
    assert "could not save" in caplog.text


def test_every_command_reads_the_database_the_flag_names(postgres_url, tmp_path):
    store = Store(tmp_path / "data", database_url=postgres_url)
    for n in range(3):
        store.save(new_record(store, model=f"painter-{n}", prompt=f"a fox number {n}"))
    run = store.start_run("seed", "1", "", ["painter-0"], None, ["greet"])
    store.finish_run(run.id, "finished")
    store.close()
    env = {"ARENA_DATA_DIR": str(tmp_path / "elsewhere")}  # the SQLite file there stays empty
    listed = subprocess.run([sys.executable, "-m", "arena", "--database-url", postgres_url, "gallery", "list",
                             "--search", "fox number 1"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**os.environ, **env})
    assert listed.returncode == 0, listed.stderr
    assert "painter-1" in listed.stdout and "painter-0" not in listed.stdout
    runs = subprocess.run([sys.executable, "-m", "arena", "--database-url", postgres_url, "suite", "runs"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env={**os.environ, **env})
    assert runs.returncode == 0 and run.id in runs.stdout
    assert PASSWORD not in listed.stdout + listed.stderr + runs.stdout + runs.stderr
