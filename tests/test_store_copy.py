"""``store copy``: a SQLite store with 1,000 records, their pictures, suite runs and votes copied into PostgreSQL,
interrupted half-way and run again: identical counts, identical records, every picture there; a third run adds
nothing."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from PIL import Image

from arena.battles.votes import StoreVotes
from arena.store import Filter, RunCell, Store
from arena.store.copy import TABLES, copy_store
from arena.store.votes import VoteStore
from tests import postgres as server
from tests import s3
from tests.conftest import ROOT
from tests.helpers import new_record

postgres, postgres_url = server.postgres, server.postgres_url  # fixtures
s3_server, bucket = s3.s3_server, s3.bucket  # fixtures

RECORDS = 1000


def _fill(store: Store) -> None:
    base = time.time() - RECORDS  # younger than the clean-up's grace for comparisons without outputs
    batch = []
    for n in range(RECORDS):
        output = "image" if n % 2 else "text"
        record = new_record(store, model=f"m{n % 5}", prompt=f"picture number {n}", output=output,
                            created_at=base + n)
        batch.append((record, [Image.new("RGB", (8, 8), (n % 256, n // 256, 7))] if output == "image" else []))
    store.save_many(batch)
    store.thumb_paths(store.query(Filter(), page=1)[0])  # a first gallery page drew some thumbnails
    run = store.start_run("seed", "1", "", ["m0", "m1"], None, ["greet", "count"])
    for case in ("greet", "count"):
        store.save_cell(RunCell(run_id=run.id, case_id=case, case_hash=f"h-{case}", model="m0", sample=0,
                                output_id=None, status="done", cached=False, refused=False, checks=[]))
    store.finish_run(run.id, "finished")
    votes = StoreVotes(store)
    pictures = [r for r in store.all(Filter(output="image"))][:6]
    for n in range(3):
        left, right = pictures[2 * n], pictures[2 * n + 1]
        votes.add(battle_id=f"b{n}", kind="image", model_a=left.model, model_b=right.model, outcome="a",
                  output_a=left.id, output_b=right.id)
    store.delete(pictures[0].id)  # a vote keeps the pictures it judged after the record is gone


def _counts(store: Store) -> dict:
    counts = {table: store.connection().execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in TABLES}
    return {**counts, "images": len(store.images.all()), "thumbs": len(store.thumbs.all())}


class Interrupted(Exception):
    pass


def _interrupt_after(table: str, rows: int):
    def progress(name: str, total: int):
        done = 0

        def advance(n: int) -> None:
            nonlocal done
            done += n
            if name == table and done >= rows:
                raise Interrupted

        return advance

    return progress


def test_a_copy_interrupted_then_run_again_gives_identical_counts(tmp_path, postgres_url):
    source = Store(tmp_path / "laptop")
    _fill(source)
    source.close()
    source = Store(tmp_path / "laptop", recover=False)
    target = Store(tmp_path / "team", database_url=postgres_url, recover=False)
    with pytest.raises(Interrupted):  # stopped after the first batch of outputs
        copy_store(source, target, _interrupt_after("outputs", 500))
    partial = _counts(target)
    assert partial["images"] == _counts(source)["images"] and 0 < partial["outputs"] < RECORDS
    assert partial["output_images"] == 0 and partial["votes"] == 0
    target.close()

    command = [sys.executable, "-m", "arena", "store", "copy", "--from", f"sqlite:///{tmp_path}/laptop/arena.db",
               "--to", postgres_url, "--to-data-dir", str(tmp_path / "team")]
    finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert server.PASSWORD not in finished.stdout + finished.stderr
    lines = {line.split()[0]: line.split()[1:] for line in finished.stdout.splitlines()}
    assert lines["outputs"] == ["source", str(RECORDS - 1), "target", str(RECORDS - 1), "added",
                                str(RECORDS - 1 - partial["outputs"])]
    target = Store(tmp_path / "team", database_url=postgres_url, recover=False)
    assert _counts(target) == _counts(source)
    assert target.all(Filter()) == source.all(Filter())
    assert target.query(Filter(words="number 77"))[1] == 1
    assert VoteStore(target).rows() == VoteStore(source).rows()
    assert [r.to_dict() for r in target.list_runs()] == [r.to_dict() for r in source.list_runs()]
    for record in target.all(Filter(output="image")):
        assert target.images.read(record.images[0]) == source.images.read(record.images[0])
        assert record.thumb is None or target.thumbs.exists(record.thumb)
    assert _counts(target)["thumbs"] > 0
    # Opening the target with clean-up on keeps every picture: each one a row points to.
    Store(tmp_path / "team", database_url=postgres_url, orphan_grace_s=0).close()
    assert _counts(target) == _counts(source)

    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and all(line.split()[-1] == "0" for line in again.stdout.splitlines())
    source.close()
    target.close()


def test_copy_refuses_the_same_database_and_a_missing_file(tmp_path):
    same = [sys.executable, "-m", "arena", "store", "copy", "--from", "sqlite:///x.db", "--to", "sqlite:///x.db"]
    refused = subprocess.run(same, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and refused.stderr == "arena: --from and --to name the same database: nothing " \
                                                         "to copy\n"
    missing = subprocess.run([*same[:6], f"sqlite:///{tmp_path}/none.db", "--to", f"sqlite:///{tmp_path}/t.db"],
                             cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and missing.stderr == f"arena: no database file at {tmp_path}/none.db\n"
    # Two slashes read as no file at all: the data folder's own arena.db was copied before, and called a success.
    slashes = subprocess.run([*same[:6], f"sqlite:/{tmp_path}/laptop.db", "--to", f"sqlite:///{tmp_path}/t.db",
                              "--data-dir", str(tmp_path / "data")], cwd=ROOT, capture_output=True, text=True,
                             timeout=120)
    assert slashes.returncode == 2 and slashes.stderr == (
        "arena: A SQLite URL names its file after three slashes: sqlite:///relative/arena.db or "
        "sqlite:////absolute/arena.db.\n")
    assert not (tmp_path / "data").exists()


def test_pictures_go_from_the_folder_into_the_bucket(tmp_path, postgres_url, bucket, capsys):
    from arena.cli import main as cli

    source = Store(tmp_path / "laptop")  # storage named by the argument: local, whatever ARENA_STORAGE says
    for n in range(12):
        source.save(new_record(source, prompt=f"fox {n}", output="image"), [Image.new("RGB", (8, 8), (n, 9, 9))])
    assert cli(["store", "copy", "--from", f"sqlite:///{tmp_path}/laptop/arena.db", "--to", postgres_url,
                "--to-data-dir", str(tmp_path / "team")]) == 0  # --to-storage: ARENA_STORAGE=s3, set by `bucket`
    assert "images" in capsys.readouterr().out
    target = Store(tmp_path / "team", database_url=postgres_url, storage="s3", recover=False)
    assert target.images.all() == source.images.all() and len(target.images.all()) == 12
    assert target.thumbs.all() == source.thumbs.all()
    for record in target.all(Filter()):
        assert target.images.read(record.images[0]) == source.images.read(record.images[0])
    assert not (tmp_path / "team" / "images").exists()  # into the bucket, not a folder
    target.close()
