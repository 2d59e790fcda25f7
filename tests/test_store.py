"""The gallery's storage: every pane kept, filters, exports, provenance in PNGs, concurrency and crashes; each test
that takes ``database_url`` runs on SQLite and on a throwaway PostgreSQL server (tests/postgres.py)."""

from __future__ import annotations

import io
import json
import logging
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import zipfile
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from arena.errors import StorageError
from arena.images import InputImage
from arena.lineage import Lineage
from arena.request import GenerationParams, Request
from arena.store import Filter, Store
from arena.store.database import insert
from arena.store.export import CELL, LABEL, export
from arena.store.pictures import read_record
from arena.store.schema import MIGRATIONS
from arena.ui.gallery import rerun_request
from tests import postgres as server
from tests.conftest import OFFLINE_ENTRIES, ROOT, mistral_entry, openai_entry
from tests.helpers import new_record, wait_until

database_url = server.database_url  # a fixture
postgres = server.postgres  # a fixture

SCENE = InputImage(Image.open(ROOT / "assets" / "scene.png").convert("RGB"))
HOSTILE = "<script>alert('x')</script> a charming spider at work"


@pytest.fixture
def store(tmp_path, database_url):
    store = Store(tmp_path / "data", orphan_grace_s=0, database_url=database_url)
    yield store
    store.close()


def run(engine, prompt, names, image=None, **params):
    return engine.start(Request(prompt, image, GenerationParams(**params)), names).wait()


def test_every_pane_is_kept_with_what_reproduces_it(loopback, keys, engine_factory, store):
    engine = engine_factory(OFFLINE_ENTRIES + [openai_entry(loopback, "echo"),
                                               openai_entry(loopback, "broken", model="fail500", max_retries=0)])
    engine.store = store
    panes = run(engine, HOSTILE, ["offline-sd", "echo", "broken"], image=SCENE, seed=11)
    assert all(p.record_id for p in panes)
    sd, echo, broken = (store.get(p.record_id) for p in panes)
    assert sd.status == "done" and sd.used["seed"] == 11 and sd.params == {"seed": 11}
    assert sd.versions["diffusers"] and sd.versions["torch"] and sd.entry["model"] == "offline:stable-diffusion"
    assert sd.metrics["steps"] == 3 and sd.metrics["total_s"] > 0
    assert sd.input_image == SCENE.sha256 and store.images.exists(SCENE.sha256)
    assert echo.text.startswith("Hello from echo") and echo.metrics["tokens"] > 0
    assert broken.status == "error" and "HTTP 500" in broken.error
    assert {r.id for r in store.siblings(echo)} == {sd.id, echo.id, broken.id}
    # The picture file alone tells how it was made.
    carried = read_record(store.images.path(sd.images[0]))
    assert carried == json.loads(json.dumps(sd.provenance()))
    assert carried["used"]["seed"] == 11 and carried["prompt"] == HOSTILE


def test_filters_pages_favourites_and_notes(store):
    base = time.time() - 10 * 86400
    for day in range(10):
        for model in ("a", "b"):
            record = new_record(store, model=model, prompt=f"spider number {day}" if day % 2 else f"cat {day}",
                                created_at=base + day * 86400, output="image" if model == "b" else "text")
            store.save(record, [Image.new("RGB", (8, 8), (day, 0, 0))] if model == "b" else [])
    records, total = store.query(Filter(), page=1, per_page=5)
    assert total == 20 and len(records) == 5
    assert [r.created_at for r in records] == sorted((r.created_at for r in records), reverse=True)
    assert store.query(Filter(), page=4, per_page=5)[0][-1].created_at == base
    assert store.query(Filter(models=["a"]))[1] == 10
    assert store.query(Filter(output="image"))[1] == 10
    assert store.query(Filter(words="spider"))[1] == 10
    assert store.query(Filter(words="spider NUMBER 3"))[1] == 2
    assert store.query(Filter(words='"quote'))[1] == 0  # odd input is searched, not an error
    assert store.query(Filter(since=base + 8 * 86400))[1] == 4
    assert store.query(Filter(until=base + 86400))[1] == 2
    target = store.query(Filter(models=["b"]))[0][0]
    store.set_favourite(target.id, True)
    store.set_note(target.id, "the best one")
    [favourite], count = store.query(Filter(favourites=True))
    assert count == 1 and favourite.id == target.id and favourite.note == "the best one"


def test_prompt_words_are_found_with_or_without_their_accents_on_both_engines(store):
    for prompt in ("un café crème pour l'araignée", "a cafe with no accent", "Straße und Brücke"):
        store.save(new_record(store, prompt=prompt))
    assert store.query(Filter(words="cafe"))[1] == 2
    assert store.query(Filter(words="CAFÉ"))[1] == 2
    assert store.query(Filter(words="araignee creme"))[1] == 1
    assert store.query(Filter(words="brucke"))[1] == 1


def test_a_pictures_thumbnail_is_drawn_when_first_shown(store):
    record = store.save(new_record(store, output="image"), [Image.new("RGB", (600, 300), (20, 160, 60))])
    assert record.thumb is None and store.thumbs.all() == set()  # a save writes the picture alone
    [path] = store.thumb_paths([store.get(record.id)])
    with Image.open(path) as small:
        assert small.format == "WEBP" and small.size == (256, 128)
        middle = small.convert("RGB").getpixel((100, 60))
        assert all(abs(a - b) < 12 for a, b in zip(middle, (20, 160, 60), strict=True))
    thumb = store.get(record.id).thumb
    assert store.thumbs.all() == {thumb} and store.thumb_paths([store.get(record.id)]) == [path]
    gone = store.save(new_record(store, output="image"), [Image.new("RGB", (40, 40), "red")])
    store.images.delete(gone.images[0])
    # A picture that went missing is shown missing (its own path), not an error, and is tried again next time.
    assert store.thumb_paths([store.get(gone.id)]) == [store.images.path(gone.images[0])]
    assert store.get(gone.id).thumb is None


def test_delete_keeps_files_another_record_shares(store):
    first = store.save(new_record(store, text="same words"))
    second = store.save(new_record(store, text="same words"))
    picture = store.save(new_record(store, output="image"), [Image.new("RGB", (8, 8), "red")])
    assert first.thumb is None  # a text card is drawn when first shown
    assert store.thumb_paths([first, second])[0] == store.thumb_paths([second])[0]
    assert store.get(first.id).thumb == first.thumb
    assert store.delete(first.id)
    assert store.thumbs.exists(second.thumb) and store.get(first.id) is None
    assert store.delete(second.id)
    assert not store.thumbs.exists(second.thumb)
    assert store.delete(picture.id) and not store.images.exists(picture.images[0])
    assert not store.delete("no-such-id")


def test_exports_round_trip(loopback, keys, engine_factory, store, tmp_path):
    engine = engine_factory(OFFLINE_ENTRIES + [openai_entry(loopback, "echo")])
    engine.store = store
    run(engine, HOSTILE, ["offline-sd", "echo"], seed=1)
    run(engine, "a house by a tree", ["offline-sd", "echo"], seed=2)
    records = store.all(Filter())
    assert len(records) == 4

    folder = export(store, records, tmp_path / "html", "html")
    page = (folder / "index.html").read_text()
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    cards = _ids_of_cards(page)
    assert cards == {f"o-{r.id}" for r in records}
    for source in _image_sources(page):
        assert not source.startswith(("/", "http")) and (folder / source).is_file()

    archive = export(store, records, tmp_path / "gallery.zip", "html")
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
    assert "index.html" in names and all(n == "index.html" or n.startswith("images/") for n in names)

    folder = export(store, records, tmp_path / "jsonl", "jsonl")
    lines = [json.loads(line) for line in (folder / "records.jsonl").read_text().splitlines()]
    assert [line["id"] for line in lines] == [r.id for r in records]
    for line in lines:
        for name in line["image_files"]:
            Image.open(folder / name).verify()

    sheet_path = export(store, records, tmp_path / "sheet.png", "sheet")
    sheet = Image.open(sheet_path)
    assert sheet.size == (220 + 2 * CELL, 2 * (CELL + LABEL))  # 2 prompts × 2 models


def test_rerun_of_a_local_diffusers_output_gives_the_same_pixels(engine_factory, store):
    engine = engine_factory(OFFLINE_ENTRIES)
    engine.store = store
    [pane] = run(engine, "a charming spider at work", ["offline-sd"])  # the seed is drawn at random
    original = store.get(pane.record_id)
    [again] = engine.start(rerun_request(store, original), ["offline-sd"], lineage=Lineage(rerun_of=original.id)).wait()
    rerun = store.get(again.record_id)
    assert rerun.rerun_of == original.id and rerun.used["seed"] == original.used["seed"]
    assert [r.id for r in store.reruns(original)] == [rerun.id]
    pixels = [np.asarray(Image.open(store.images.path(r.images[0])).convert("RGB")) for r in (original, rerun)]
    assert np.array_equal(*pixels)


def test_saving_can_be_turned_off(loopback, keys, engine_factory, store):
    engine = engine_factory([openai_entry(loopback, "echo")])
    engine.store = store
    [pane] = engine.start(Request("hi"), ["echo"], save=False).wait()
    assert pane.status == "done" and pane.record_id is None and store.count() == 0


def test_many_threads_save_at_once_without_losing_a_record(store):
    failures = []

    def writer(number: int) -> None:
        try:
            for i in range(200):
                store.save(new_record(store, model=f"m{number}", text=f"answer {number}-{i}"))
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert store.count() == 1600
    if store.server is None:
        db = sqlite3.connect(store.db_path)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


SAVER = """
import sys
sys.path.insert(0, sys.argv[3])
from arena.store import Store
from tests.helpers import new_record
store = Store(sys.argv[1], database_url=sys.argv[2] or None)
number = sys.argv[4]
for i in range(200):
    store.save(new_record(store, model=f"m{number}", text=f"answer {number}-{i}"))
"""


def test_eight_processes_save_200_records_each_and_none_is_lost(tmp_path, database_url):
    folder = tmp_path / "data"
    store = Store(folder, database_url=database_url)  # migrated once; the writers also migrate, finding it done
    writers = [subprocess.Popen([sys.executable, "-c", SAVER, str(folder), database_url or "", str(ROOT), str(n)],
                                cwd=ROOT, stderr=subprocess.PIPE, text=True) for n in range(8)]
    errors = [writer.communicate(timeout=300)[1] for writer in writers]
    assert [writer.returncode for writer in writers] == [0] * 8, errors
    assert not any("locked" in e for e in errors)
    assert store.count() == 1600
    assert sorted(store.models()) == [f"m{n}" for n in range(8)]
    assert store.query(Filter(models=["m3"]))[1] == 200


def test_two_processes_migrating_an_empty_database_at_once_make_one_schema(tmp_path, database_url):
    opener = ("import sys; sys.path.insert(0, sys.argv[3]); from arena.store import Store; "
              "Store(sys.argv[1], database_url=sys.argv[2] or None)")
    folder = tmp_path / "data"
    openers = [subprocess.Popen([sys.executable, "-c", opener, str(folder), database_url or "", str(ROOT)],
                                cwd=ROOT, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    errors = [opener.communicate(timeout=120)[1] for opener in openers]
    assert [opener.returncode for opener in openers] == [0] * 3, errors
    store = Store(folder, database_url=database_url)
    applied = store.connection().execute("SELECT number, name FROM migrations ORDER BY number").fetchall()
    assert [tuple(row) for row in applied] == [(n, m.name) for n, m in enumerate(MIGRATIONS, start=1)]
    record = store.save(new_record(store, prompt="after migrating", text="kept"))
    assert store.get(record.id) == record


def test_store_migrate_says_what_it_did_and_an_older_arena_refuses_a_newer_database(tmp_path, database_url):
    def arena(*words):
        url = ["--database-url", database_url] if database_url else []
        return subprocess.run([sys.executable, "-m", "arena", "--data-dir", str(tmp_path / "data"), *url, *words],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)

    first, again = arena("store", "migrate"), arena("store", "migrate")
    assert first.returncode == again.returncode == 0, first.stderr + again.stderr
    assert first.stdout.endswith(f": schema {len(MIGRATIONS)}, applied {len(MIGRATIONS)} migrations\n")
    assert again.stdout.endswith(f": schema {len(MIGRATIONS)}, nothing to apply\n")
    assert "postgresql://" in first.stdout if database_url else "arena.db" in first.stdout

    store = Store(tmp_path / "data", database_url=database_url)
    with store.transaction() as db:
        insert(db, "migrations", {"number": len(MIGRATIONS) + 1, "name": "_from_a_newer_arena"})
    store.close()
    newer = (f"This database was upgraded by a newer Arena (schema {len(MIGRATIONS) + 1}; this Arena knows up to "
             f"{len(MIGRATIONS)}): upgrade this Arena before it uses the database.")
    with pytest.raises(StorageError) as refused:
        Store(tmp_path / "data", database_url=database_url)
    assert str(refused.value) == newer
    listing = arena("gallery", "list")
    assert (listing.returncode, listing.stdout, listing.stderr) == (2, "", f"arena: {newer}\n")


CRASH_WRITER = """
import sys, time
from PIL import Image
sys.path.insert(0, sys.argv[2])
from arena.store import Store
from tests.helpers import new_record
store = Store(sys.argv[1], database_url=sys.argv[3] or None)
i = 0
while True:
    i += 1
    picture = Image.effect_noise((96, 96), 60 + i % 40).convert("RGB")
    store.save(new_record(store, output="image", prompt=f"crash {i}"), [picture])
"""


def test_a_killed_writer_leaves_a_whole_database_and_no_orphans(tmp_path, database_url):
    folder = tmp_path / "data"
    watcher = Store(folder, database_url=database_url, recover=False)
    writer = subprocess.Popen([sys.executable, "-c", CRASH_WRITER, str(folder), str(ROOT), database_url or ""],
                              cwd=ROOT)
    try:
        wait_until(lambda: watcher.count() >= 25, timeout=60, what="25 records saved by the writer")
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(10)
    watcher.close()
    store = Store(folder, orphan_grace_s=0, database_url=database_url)  # opening cleans what the kill left
    if store.server is None:
        db = sqlite3.connect(store.db_path)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    records = store.all(Filter())
    assert len(records) >= 25
    for record, thumb in zip(records, store.thumb_paths(records), strict=True):
        Image.open(store.images.path(record.images[0])).verify()
        Image.open(thumb).verify()
    on_disk = {p for p in folder.rglob("*") if p.is_file() and p.suffix in (".png", ".webp")}
    referenced = {store.images.path(s) for r in records for s in r.images} | {store.thumbs.path(r.thumb)
                                                                               for r in records}
    assert on_disk == referenced
    assert not list(folder.rglob(".partial-*"))


def test_no_key_reaches_the_database_pictures_exports_or_logs(loopback, monkeypatch, engine_factory, tmp_path,
                                                              database_url):
    canary = "canary-key-7f3a9c1e5b2d4"
    monkeypatch.setenv("OPENAI_API_KEY", canary)
    monkeypatch.setenv("MISTRAL_API_KEY", canary)
    saved_key, loopback.api_key = loopback.api_key, canary
    log_file = tmp_path / "debug.log"
    handler = logging.FileHandler(log_file)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        store = Store(tmp_path / "data", database_url=database_url)
        engine = engine_factory(OFFLINE_ENTRIES + [
            openai_entry(loopback, "echo"), openai_entry(loopback, "denied", model="fail401"),
            openai_entry(loopback, "broken", model="fail500", max_retries=0), mistral_entry(loopback, "mistral-echo",
                                                                                           model="echo"),
            {"name": "pictures", "kind": "openai-image", "model": "gpt-image-1", "base_url": loopback.v1},
        ])
        engine.store = store
        panes = run(engine, "a charming spider at work", ["echo", "denied", "broken", "mistral-echo", "pictures",
                                                          "offline-sd"], image=SCENE)
        assert {p.status for p in panes} == {"done", "error"}
        records = store.all(Filter())
        export(store, records, tmp_path / "export-html", "html")
        export(store, records, tmp_path / "export.zip", "jsonl")
        export(store, records, tmp_path / "sheet.png", "sheet")
        if store.server is None:
            wal = store.db_path.with_name("arena.db-wal")
            assert wal.exists()
            database = [store.db_path, wal]
        else:  # every row of every table, as text
            from arena.store.copy import TABLES

            dump = tmp_path / "database.txt"
            dump.write_text(repr([tuple(row) for table in TABLES
                                  for row in store.connection().execute(f"SELECT * FROM {table}").fetchall()]))
            assert "a charming spider at work" in dump.read_text()
            database = [dump]
        suspects = [*database, log_file, *(tmp_path / "data").rglob("*.png"),
                    *(tmp_path / "data").rglob("*.webp"), *(tmp_path / "export-html").rglob("*"),
                    tmp_path / "export.zip", tmp_path / "sheet.png"]
        for path in suspects:
            if path.is_file():
                data = path.read_bytes()
                assert canary.encode() not in data, path
                if path.suffix == ".png":
                    assert canary not in json.dumps(read_record(io.BytesIO(data)) or {}), path
        assert log_file.stat().st_size > 0  # DEBUG logging really was on
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        loopback.api_key = saved_key


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.sources: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "div" and attributes.get("class") == "card":
            self.ids.add(attributes["id"])
        if tag == "img":
            self.sources.append(attributes["src"])


def _ids_of_cards(page: str) -> set[str]:
    collector = _Collector()
    collector.feed(page)
    return collector.ids


def _image_sources(page: str) -> list[str]:
    collector = _Collector()
    collector.feed(page)
    return collector.sources
