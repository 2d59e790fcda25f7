"""Pictures in an S3 bucket (ARENA_STORAGE=s3) against a real S3-compatible server on loopback (moto): the Blobs
interface, the read-through cache, a Store over SQLite + the bucket, faults, and no credential in any message."""

from __future__ import annotations

import hashlib
import io
import logging
import time
from pathlib import Path

import pytest
from PIL import Image

from arena.errors import StorageError, describe
from arena.settings import Settings
from arena.store import Filter, Store, open_store
from arena.store.object_storage import CACHE_FOLDER, ObjectBlobs, PictureCache, S3Settings, cached_picture
from tests import s3
from tests.browser import needs_chromium
from tests.helpers import new_record
from tests.s3 import ACCESS_KEY, SECRET_KEY

s3_server, bucket = s3.s3_server, s3.bucket  # the fixtures


def png(colour=(200, 30, 30), size=(64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def keys(server, name: str) -> set[str]:
    pages = server.client().get_paginator("list_objects_v2").paginate(Bucket=name)
    return {item["Key"] for page in pages for item in page.get("Contents", ())}


@pytest.fixture
def store(tmp_path, bucket):
    return Store(tmp_path / "data", orphan_grace_s=0, storage="s3")


def test_boto3_is_loaded_only_for_a_bucket(tmp_path):
    import subprocess
    import sys

    code = ("import sys; from arena.store import Store; Store(sys.argv[1]); "
            "print('boto3' in sys.modules, 'botocore' in sys.modules)")
    shown = subprocess.run([sys.executable, "-c", code, str(tmp_path / "data")], capture_output=True, text=True,
                           check=True).stdout.split()
    assert shown == ["False", "False"]


def test_settings_come_from_the_environment():
    settings = S3Settings.from_env({"ARENA_S3_BUCKET": "pics", "ARENA_S3_ENDPOINT_URL": "http://u:pw@minio:9000",
                                    "ARENA_S3_PREFIX": "/team/", "ARENA_S3_REGION": "eu-west-3"})
    assert (settings.bucket, settings.prefix, settings.region, settings.path_style) == \
        ("pics", "team", "eu-west-3", True)
    assert settings.where == "the picture bucket 'pics' at minio:9000"  # never the user or password of a URL
    assert not S3Settings.from_env({"ARENA_S3_BUCKET": "pics"}).path_style  # AWS: its own addressing
    assert S3Settings.from_env({"ARENA_S3_BUCKET": "p", "ARENA_S3_ENDPOINT_URL": "http://x",
                                "ARENA_S3_PATH_STYLE": "0"}).path_style is False
    with pytest.raises(StorageError, match="ARENA_S3_BUCKET"):
        S3Settings.from_env({})
    with pytest.raises(StorageError, match="ARENA_S3_PATH_STYLE"):
        S3Settings.from_env({"ARENA_S3_BUCKET": "p", "ARENA_S3_PATH_STYLE": "maybe"})
    for endpoint in ("127.0.0.1:9000", "minio", "ftp://minio", "http://u:pw@:9000"):  # botocore: a traceback
        with pytest.raises(StorageError) as refused:
            S3Settings.from_env({"ARENA_S3_BUCKET": "p", "ARENA_S3_ENDPOINT_URL": endpoint})
        assert str(refused.value).startswith("ARENA_S3_ENDPOINT_URL must be a URL such as http://HOST:PORT or")
        assert "pw" not in str(refused.value)


def test_a_server_that_accepts_and_never_answers_costs_a_cli_command_one_short_check(tmp_path):
    """It took a `gallery list` two minutes: the full read timeout and retries at start, then the clean-up's
    listing of every picture, which the app does in the background and a command need not do."""
    import os
    import socket
    import subprocess
    import sys

    from tests.conftest import ROOT

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # connections are accepted by the kernel and never answered
    port = silent.getsockname()[1]
    env = {**os.environ, "ARENA_STORAGE": "s3", "ARENA_S3_BUCKET": "pics", "AWS_ACCESS_KEY_ID": ACCESS_KEY,
           "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "ARENA_S3_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    try:
        listed = subprocess.run([sys.executable, "-m", "arena", "--data-dir", str(tmp_path / "data"), "gallery",
                                 "list"], cwd=ROOT, capture_output=True, text=True, timeout=40, env=env)
    finally:
        silent.close()
    assert listed.returncode == 0 and listed.stdout == ""
    assert listed.stderr.endswith(f"could not open the picture bucket 'pics' at 127.0.0.1:{port}: timed out\n"
                                  "0 of 0 outputs\n")


def test_save_read_delete_with_content_addressed_keys(store, bucket, s3_server, tmp_path):
    data = png()
    sha = hashlib.sha256(data).hexdigest()
    assert isinstance(store.images, ObjectBlobs)
    assert not store.images.exists(sha)
    assert store.images.put(data) == sha
    assert store.images.put(data) == sha  # the same bytes once
    assert keys(s3_server, bucket) == {f"team/images/{sha[:2]}/{sha}.png"}
    assert store.images.exists(sha) and store.images.read(sha) == data
    assert store.images.all() == {sha}
    # A fresh process (no cache yet) downloads the object once into the cache under the data folder.
    other = Store(tmp_path / "other", storage="s3")
    path = other.images.path(sha)
    assert path == tmp_path / "other" / CACHE_FOLDER / "images" / sha[:2] / f"{sha}.png"
    assert path.read_bytes() == data and other.images.read(sha) == data
    store.images.delete(sha)
    assert not store.images.exists(sha) and keys(s3_server, bucket) == set()
    assert not store.images.path(sha).exists()  # a missing object: a path where no file is, as locally
    with pytest.raises(FileNotFoundError):
        store.images.read(sha)
    store.images.delete(sha)  # deleting twice is no error
    with pytest.raises(ValueError, match="sha256"):
        store.images.path("../../arena.db")


def test_a_store_over_sqlite_and_the_bucket_end_to_end(store, bucket, s3_server):
    record = new_record(store, model="painter", output="image", prompt="a red fox")
    picture = Image.new("RGB", (300, 200), (10, 120, 40))
    store.save(record, [picture])
    sha = record.images[0]
    assert record.thumb is None and keys(s3_server, bucket) == {f"team/images/{sha[:2]}/{sha}.png"}
    listed = store.query(store_filter())[0]
    assert [r.id for r in listed] == [record.id]
    [thumb_path] = store.thumb_paths(listed)  # drawn when first shown, then kept in the bucket too
    thumb = store.get(record.id).thumb
    assert keys(s3_server, bucket) == {f"team/images/{sha[:2]}/{sha}.png", f"team/thumbs/{thumb[:2]}/{thumb}.webp"}
    with Image.open(thumb_path) as small:
        assert small.format == "WEBP" and max(small.size) <= 256
    with Image.open(store.images.path(sha)) as big:
        assert big.size == (300, 200)
    # A text answer's card is drawn when first shown, and kept in the bucket too.
    text = new_record(store, text="a short answer")
    store.save(text)
    [card] = store.thumb_paths([store.get(text.id)])
    assert card.exists() and store.thumbs.exists(store.get(text.id).thumb)
    assert store.delete(record.id)
    assert not store.images.exists(sha) and not store.thumbs.exists(thumb)
    assert all(f"/{sha}" not in key and f"/{thumb}" not in key for key in keys(s3_server, bucket))


def store_filter():
    from arena.store import Filter

    return Filter()


def test_open_store_picks_the_bucket_from_settings(tmp_path, bucket):
    store = open_store(Settings(data_dir=tmp_path / "data", storage="s3"))
    assert isinstance(store.images, ObjectBlobs) and store.images.bucket.name == bucket


def test_recovery_deletes_orphan_objects_but_not_young_ones(tmp_path, bucket, s3_server):
    store = Store(tmp_path / "data", orphan_grace_s=0, storage="s3")
    kept = new_record(store, output="image")
    store.save(kept, [Image.new("RGB", (32, 32), "blue")])
    store.thumb_paths([kept])
    store.images.put(png((1, 2, 3)))
    store.thumbs.put(png((4, 5, 6)))
    s3_server.client().put_object(Bucket=bucket, Key="team/images/not-a-picture.txt", Body=b"x")
    assert store.recover()["orphans"] == 2
    assert store.images.all() == set(kept.images) and store.thumbs.all() == {kept.thumb}
    assert "team/images/not-a-picture.txt" in keys(s3_server, bucket)  # not ours: left alone
    # Within the grace time an object may be a save whose record is not written yet.
    young = store.images.put(png((7, 8, 9)))
    store.orphan_grace_s = 3600
    assert store.recover()["orphans"] == 0 and store.images.exists(young)
    assert store.images.remove_partials() == 0


def test_cache_keeps_to_its_size_least_recently_used_first(tmp_path):
    cache = PictureCache(tmp_path / "cache", max_bytes=3000)
    files = [tmp_path / "cache" / "images" / f"{i:02x}" / f"{i}.png" for i in range(5)]
    for index, path in enumerate(files[:3]):
        cache.add(path, bytes(900))
        old = time.time() - 100 + index
        import os

        os.utime(path, (old, old))
    assert cache.hit(files[0])  # read again: now the most recent
    cache.add(files[3], bytes(900))
    cache.add(files[4], bytes(900))
    assert [p.exists() for p in files] == [True, False, False, True, True]
    assert not cache.hit(tmp_path / "cache" / "images" / "00" / "missing.png")


def test_missing_bucket_or_wrong_credentials_stop_the_start_with_one_sentence(tmp_path, bucket, monkeypatch):
    monkeypatch.setenv("ARENA_S3_BUCKET", "no-such-bucket")
    with pytest.raises(StorageError) as missing:
        Store(tmp_path / "data", storage="s3")
    assert str(missing.value) == (f"the picture bucket 'no-such-bucket' at 127.0.0.1:{_port()} does not exist "
                                  "(create it, or set ARENA_S3_BUCKET to one that does)")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("ARENA_S3_BUCKET", bucket)
    with pytest.raises(StorageError, match="no S3 credentials"):
        Store(tmp_path / "data", storage="s3")


def _port() -> int:
    import os
    from urllib.parse import urlsplit

    return urlsplit(os.environ["ARENA_S3_ENDPOINT_URL"]).port


def test_server_down_fails_each_call_in_one_sentence_then_recovers(store, bucket, s3_server, caplog):
    data = png((90, 90, 200))
    sha = store.images.put(data)
    shown = store.save(new_record(store, output="image"), [Image.new("RGB", (300, 300), "blue")])
    started = time.monotonic()
    with s3_server.stopped():
        # The gallery's first look cannot keep a thumbnail: it shows the picture itself and tries again next time.
        assert store.thumb_paths([store.get(shown.id)]) == [store.images.path(shown.images[0])]
        assert store.get(shown.id).thumb is None
        with pytest.raises(StorageError) as down:
            store.images.put(png((1, 1, 1)))
        assert time.monotonic() - started < 60  # no hang
        assert describe(down.value) == str(down.value)
        assert str(down.value).startswith(f"could not save a picture in the picture bucket '{bucket}' at 127.0.0.1:")
        assert "cannot be reached" in str(down.value)
        # What was seen before is still served from the cache; what was not is missing on the page, not an error.
        assert store.images.path(sha).read_bytes() == data and store.images.read(sha) == data
        unseen = "ab" * 32
        assert not store.images.path(unseen).exists()
        with pytest.raises(StorageError, match="could not read a picture from"):
            store.images.read(unseen)
        with caplog.at_level(logging.DEBUG):
            with pytest.raises(StorageError):
                Store(tmp_path_of(store) / "while-down", storage="s3").recover()
        messages = [str(down.value), caplog.text]
    s3_server.client().create_bucket(Bucket=bucket)  # moto forgot it when it stopped
    assert store.images.put(data) == sha and store.images.exists(sha)
    store.images.put(store.images.read(shown.images[0]))  # the bucket came back empty: the picture again
    [thumb] = store.thumb_paths([store.get(shown.id)])
    assert thumb.suffix == ".webp" and store.thumbs.exists(store.get(shown.id).thumb)
    for text in messages:
        assert ACCESS_KEY not in text and SECRET_KEY not in text


def tmp_path_of(store):
    return store.folder


# --- the app over a bucket ---------------------------------------------------------------------------------------


@pytest.fixture
def bucket_app(tmp_path, bucket, loopback, monkeypatch):
    from gradio_client import Client

    from tests.apprunner import running_app, write_catalog
    from tests.conftest import LOOPBACK_KEY, openai_entry

    monkeypatch.setenv("OPENAI_API_KEY", LOOPBACK_KEY)
    monkeypatch.setenv("ARENA_DATA_DIR", str(tmp_path / "data"))
    catalog = write_catalog(tmp_path / "catalog.yaml", [
        openai_entry(loopback, "painter", kind="openai-image", model="gpt-image-1"), openai_entry(loopback, "echo")])
    with running_app(catalog) as (url, engine):
        yield url, Client(url, verbose=False), engine


def http_status(url: str, path) -> tuple[int, bytes]:
    import urllib.error
    import urllib.parse
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/gradio_api/file={urllib.parse.quote(str(path))}", timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


def gallery_sources(engine, records) -> list[str]:
    """The picture addresses the gallery's grid puts in its page for these records."""
    import re
    from urllib.parse import unquote

    from arena.ui.gallery import GalleryView

    view = GalleryView.__new__(GalleryView)  # only its store: the grid's HTML, without a Blocks around it
    view.store = engine.store
    return [unquote(src) for src in re.findall(r'src="gradio_api/file=([^"]+)"', view._cards(records))]


def test_the_app_serves_bucket_pictures_itself_under_todays_403_rules(bucket_app, bucket, s3_server, tmp_path):
    url, client, engine = bucket_app
    result = client.predict(prompt="a red fox", models=["painter"], api_name="/compare")
    [pane] = result["panes"]
    assert pane["status"] == "done" and "unsaved" not in pane
    [record] = engine.store.query(store_filter())[0]
    assert any(key.endswith(f"/{record.images[0]}.png") for key in keys(s3_server, bucket))
    assert not (engine.store.folder / "images").exists()  # nothing in the local picture folder
    cache = engine.store.folder / CACHE_FOLDER
    # Another replica's cache is empty: the gallery's first look downloads the thumbnail once.
    for copy in cache.rglob("*.webp"):
        copy.unlink()
    [thumb] = gallery_sources(engine, [record])
    assert thumb.startswith(str(cache))
    status, body = http_status(url, thumb)
    assert status == 200 and body == engine.store.thumbs.read(record.thumb)
    picture = engine.store.images.path(record.images[0])
    assert http_status(url, picture) == (200, engine.store.images.read(record.images[0]))
    data = engine.store.folder
    (cache / "notes.txt").write_text("not a picture")
    for refused in ("/etc/passwd", data / "arena.db", f"{cache}/../arena.db", f"{cache}/images/../../arena.db",
                    tmp_path / "catalog.yaml"):
        assert http_status(url, refused)[0] == 403, refused


def test_a_picture_deleted_on_another_replica_is_not_served_from_this_ones_copy(bucket_app):
    url, client, engine = bucket_app
    client.predict(prompt="a blue whale", models=["painter"], api_name="/compare")
    [record] = engine.store.query(Filter(words="whale"))[0]
    [thumb] = gallery_sources(engine, [record])
    picture = engine.store.images.path(record.images[0])
    copies = {path: Path(path).read_bytes() for path in (thumb, picture)}
    assert all(http_status(url, path)[0] == 200 for path in copies)
    # Another replica deletes it: the rows and the bucket's objects go, this replica's copies it cannot reach.
    assert engine.store.delete(record.id)
    for path, data in copies.items():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(data)
    for path in copies:
        assert http_status(url, path)[0] == 404
        assert not Path(path).exists()  # the stale copy is dropped


def test_only_a_cached_pictures_own_path_names_it(tmp_path):
    root = tmp_path / CACHE_FOLDER
    sha = "ab" + "c" * 62
    assert cached_picture(root, root / "thumbs" / "ab" / f"{sha}.webp") == ("thumbs", sha)
    assert cached_picture(root, f"{root}/images/../images/ab/{sha}.png") == ("images", sha)
    for other in (root / "images" / "cd" / f"{sha}.png", root / "images" / "ab" / "notes.txt",
                  root / "other" / "ab" / f"{sha}.png", root / "notes.txt", f"{root}/images/ab/../../../arena.db",
                  tmp_path / "images" / "ab" / f"{sha}.png"):
        assert cached_picture(root, other) is None, other


def test_bucket_down_outputs_say_not_saved_and_saving_resumes(bucket_app, bucket, s3_server, caplog):
    url, client, engine = bucket_app
    with caplog.at_level(logging.INFO):
        with s3_server.stopped():
            result = client.predict(prompt="a fox while the bucket is down", models=["painter", "echo"],
                                    api_name="/compare")
            painter, echo = result["panes"]
            assert painter["status"] == "done" and painter["images"]  # the answer stays on the screen
            assert painter["unsaved"].startswith(f"not saved in the gallery: could not save a picture in the picture "
                                                 f"bucket '{bucket}' at 127.0.0.1:")
            assert "\n" not in painter["unsaved"] and "Traceback" not in painter["unsaved"]
            assert echo["status"] == "done" and "unsaved" not in echo  # a text answer needs no bucket
            assert [r.model for r in engine.store.query(store_filter())[0]] == ["echo"]
            # The app keeps serving comparisons.
            assert client.predict(prompt="still up?", models=["echo"], api_name="/compare")["finished"]
        s3_server.client().create_bucket(Bucket=bucket)  # moto forgot it when it stopped
        result = client.predict(prompt="a fox once it is back", models=["painter"], api_name="/compare")
    [pane] = result["panes"]
    assert "unsaved" not in pane
    newest = engine.store.query(store_filter())[0][0]
    assert newest.model == "painter" and engine.store.images.exists(newest.images[0])
    for text in (caplog.text, painter["unsaved"]):
        assert ACCESS_KEY not in text and SECRET_KEY not in text
    assert "not saved" in caplog.text or "could not save" in caplog.text


def test_a_missing_bucket_stops_the_app_and_the_cli_with_one_line(tmp_path, bucket, monkeypatch, capsys):
    from arena.cli import main as cli
    from arena.web import main as app
    from tests.apprunner import write_catalog

    monkeypatch.setenv("ARENA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ARENA_S3_BUCKET", "gone-missing")
    expected = f"arena: the picture bucket 'gone-missing' at 127.0.0.1:{_port()} does not exist"
    with pytest.raises(SystemExit) as stopped:
        app(["--catalog", str(write_catalog(tmp_path / "c.yaml", [{"name": "echo", "kind": "openai-chat",
                                                                   "model": "echo"}])), "--port", "0"])
    assert str(stopped.value).startswith(expected)
    assert cli(["gallery", "list"]) == 2
    error = capsys.readouterr().err
    assert error.startswith(expected) and error.count("\n") == 1
    assert ACCESS_KEY not in error + str(stopped.value) and SECRET_KEY not in error + str(stopped.value)


def test_a_comparison_whose_input_picture_cannot_be_kept_still_runs(store, bucket, s3_server, loopback, keys,
                                                                     engine_factory):
    from arena.images import InputImage
    from arena.request import GenerationParams, Request
    from tests.conftest import ROOT, openai_entry

    engine = engine_factory([openai_entry(loopback, "echo")])
    engine.store = store
    scene = InputImage(Image.open(ROOT / "assets" / "scene.png").convert("RGB"))
    with s3_server.stopped():
        [pane] = engine.start(Request("what is this?", scene, GenerationParams()), ["echo"]).wait()
    assert pane.status == "done" and pane.text.startswith("Hello from echo") and pane.record_id is None
    assert pane.unsaved.startswith(f"not saved in the gallery: could not save a picture in the picture bucket "
                                   f"'{bucket}'")
    assert store.count() == 0


@needs_chromium
def test_browser_not_saved_in_the_pane_then_the_gallery_from_the_bucket(browser, bucket_app, bucket, s3_server):
    from tests.conftest import ARTIFACTS

    url, _, engine = bucket_app
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.goto(url)
    page.wait_for_selector("#arena-models label")
    for label in page.locator("#arena-models label").all():
        if label.inner_text().startswith(("painter ·", "echo ·")) != label.locator("input").is_checked():
            label.click()
    page.fill("#arena-prompt textarea", "a fox while the bucket is down")
    with s3_server.stopped():
        page.click("#arena-run")
        unsaved = page.locator(".arena-unsaved")
        unsaved.wait_for(timeout=60_000)
        page.locator(".arena-saved").wait_for(timeout=60_000)  # echo's text answer is kept
        assert unsaved.inner_text().startswith("not saved in the gallery: could not save a picture in")
        assert unsaved.count() == 1
        page.screenshot(path=str(ARTIFACTS / "object-storage-not-saved-1440.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(ARTIFACTS / "object-storage-not-saved-390.png"), full_page=True)
    s3_server.client().create_bucket(Bucket=bucket)
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.fill("#arena-prompt textarea", "a fox once the bucket is back")
    page.click("#arena-run")
    page.wait_for_function("document.querySelectorAll('.arena-saved').length === 2 && "
                           "!document.querySelector('.arena-unsaved')", timeout=60_000)
    for copy in (engine.store.folder / CACHE_FOLDER).rglob("*.*"):
        copy.unlink()  # as on a replica that never saw these pictures
    gallery = browser.new_page(viewport={"width": 1440, "height": 1000}, color_scheme="dark")
    gallery.goto(url + "?__theme=dark")
    gallery.get_by_role("tab", name="Gallery").click()
    gallery.wait_for_function("""() => { const pictures = [...document.querySelectorAll('#gallery-grid img')];
        return pictures.length >= 1 && pictures.every((p) => p.complete && p.naturalWidth > 0); }""",
                              timeout=30_000)
    gallery.screenshot(path=str(ARTIFACTS / "object-storage-gallery-dark.png"), full_page=True)


def test_the_app_starts_while_the_bucket_cannot_be_reached(tmp_path, bucket, s3_server, loopback, monkeypatch,
                                                           caplog):
    from gradio_client import Client

    from tests.apprunner import running_app, write_catalog
    from tests.conftest import LOOPBACK_KEY, openai_entry

    monkeypatch.setenv("OPENAI_API_KEY", LOOPBACK_KEY)
    monkeypatch.setenv("ARENA_DATA_DIR", str(tmp_path / "data"))
    catalog = write_catalog(tmp_path / "catalog.yaml", [openai_entry(loopback, "echo")])
    with caplog.at_level(logging.WARNING), s3_server.stopped(), running_app(catalog) as (url, engine):
        result = Client(url, verbose=False).predict(prompt="anyone there?", models=["echo"], api_name="/compare")
        assert result["panes"][0]["status"] == "done"
    assert f"the picture bucket '{bucket}' at 127.0.0.1:{_port()}: the server cannot be reached" in caplog.text
    assert ACCESS_KEY not in caplog.text and SECRET_KEY not in caplog.text
