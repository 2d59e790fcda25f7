"""The running web app: the documented /compare endpoint through gradio_client, and its safe defaults."""

from __future__ import annotations

import base64
import io
import urllib.error
import urllib.request

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError, AuthenticationError
from PIL import Image

from arena.settings import Settings
from arena.web import IDLE_POLL_S, launch, launch_kwargs, parse_args
from tests.apprunner import running_app, write_catalog
from tests.conftest import LOOPBACK_KEY, OFFLINE_ENTRIES, ROOT, openai_entry

SCENE = ROOT / "assets" / "scene.png"


@pytest.fixture(scope="module")
def app(tmp_path_factory, loopback, offline_models):
    import os

    folder = tmp_path_factory.mktemp("app")
    os.environ["OPENAI_API_KEY"] = LOOPBACK_KEY
    os.environ["ARENA_OFFLINE_MODELS"] = str(offline_models)
    os.environ["ARENA_DATA_DIR"] = str(folder / "data")
    catalog = write_catalog(folder / "catalog.yaml", OFFLINE_ENTRIES + [
        openai_entry(loopback, "echo"), openai_entry(loopback, "broken", model="fail500", max_retries=0),
        openai_entry(loopback, "drip", model="drip50"),
        openai_entry(loopback, "critic", model="critic-api"),
    ])
    try:
        with running_app(catalog) as (url, engine):
            yield url, Client(url, verbose=False), engine
    finally:
        os.environ.pop("OPENAI_API_KEY", None)


def test_compare_endpoint_returns_every_pane(app):
    url, client, engine = app
    result = client.predict(
        prompt="a charming spider at work", models=["offline-pixtral", "offline-sd", "echo", "broken"],
        image=handle_file(str(SCENE)), params={"seed": 7}, api_name="/compare",
    )
    assert result["finished"] is True
    panes = {p["model"]: p for p in result["panes"]}
    assert list(panes) == ["offline-pixtral", "offline-sd", "echo", "broken"]
    assert panes["offline-pixtral"]["status"] == "done" and panes["offline-pixtral"]["metrics"]["tokens"] == 12
    assert panes["echo"]["text"].startswith("Hello from echo. I got an image.")
    assert panes["broken"]["status"] == "error" and "HTTP 500" in panes["broken"]["error"]
    sd = panes["offline-sd"]
    assert sd["status"] == "done" and sd["used"]["seed"] == 7 and sd["metrics"]["steps"] == 3
    assert sd["notices"] == ["The image was not sent: offline-sd draws from text only."]
    [data_url] = sd["images"]
    picture = Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1])))
    assert picture.size == (64, 64)


def test_compare_streams_partial_results(app):
    url, client, engine = app
    job = client.submit(prompt="count with me", models=["drip"], api_name="/compare")
    texts = [update["panes"][0]["text"] for update in job]
    final = job.result()
    assert final["panes"][0]["status"] == "done"
    growing = [t for t in texts if t]
    assert len(set(growing)) >= 3 and final["panes"][0]["text"] == growing[-1]


@pytest.mark.parametrize("kwargs, message", [
    ({"prompt": "hi", "models": ["no-such-model"]}, "Unknown model: no-such-model"),
    ({"prompt": "", "models": ["echo"]}, "Type a prompt first."),
    ({"prompt": "hi", "models": "echo"}, None),
    ({"prompt": "hi", "models": [1, 2]}, "models must be a list of model names"),
    ({"prompt": "hi", "models": ["echo"], "params": {"temperature": 7}}, "Bad parameters: temperature"),
    ({"prompt": "hi", "models": ["echo"], "params": {"nonsense": 1}}, "Bad parameters: nonsense"),
])
def test_bad_api_input_gets_a_clear_message_and_the_server_stays_up(app, kwargs, message):
    url, client, engine = app
    if message is None:
        assert client.predict(**kwargs, api_name="/compare")["panes"][0]["status"] == "done"
        return
    with pytest.raises(AppError, match=message):
        client.predict(**kwargs, api_name="/compare")
    assert client.predict(prompt="still up?", models=["echo"], api_name="/compare")["finished"]


def test_uploads_that_are_not_images_are_refused(app, tmp_path):
    url, client, engine = app
    fake = tmp_path / "fake.png"
    fake.write_text("<html><script>alert(1)</script></html>")
    with pytest.raises(AppError, match="not an image"):
        client.predict(prompt="hi", models=["echo"], image=handle_file(str(fake)), api_name="/compare")


def test_only_the_documented_endpoints_are_listed(app):
    url, client, engine = app
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    battles = {"/battle", "/vote"}  # the Battle tab's (tests/test_battles.py)
    assert sorted(set(endpoints) - battles) == ["/compare", "/critique", "/describe_draw"]
    names = {name: [p["parameter_name"] for p in endpoint["parameters"]] for name, endpoint in endpoints.items()}
    assert names["/compare"] == ["prompt", "models", "image", "params"]
    assert names["/describe_draw"] == ["prompt", "describe", "draw", "image", "params"]
    assert names["/critique"] == ["image", "models", "prompt"]


def test_describe_draw_then_critique_through_the_api(app):
    url, client, engine = app
    chain = client.predict(prompt="a charming spider at work", describe=["offline-pixtral", "echo"],
                           draw=["offline-sd"], params={"seed": 3}, api_name="/describe_draw")
    described = {d["model"]: d for d in chain["descriptions"]}
    assert set(described) == {"offline-pixtral", "echo"} and all(d["status"] == "done" for d in described.values())
    assert sorted(p["description_from"] for p in chain["pictures"]) == ["echo", "offline-pixtral"]
    for picture in chain["pictures"]:
        assert picture["parent_id"] == described[picture["description_from"]]["output_id"]
        assert engine.store.get(picture["output_id"]).parent_id == picture["parent_id"]
    data_url = chain["pictures"][0]["images"][0]
    png = io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))
    path = ROOT / "test-artifacts" / "api-drawn.png"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(png.getvalue())
    critiques = client.predict(image=handle_file(str(path)), models=["critic", "offline-pixtral"], prompt=None,
                               api_name="/critique")["critiques"]
    assert [c["model"] for c in critiques] == ["critic", "offline-pixtral"]
    assert critiques[0]["score"] == 7.0 and critiques[1]["status"] == "done"
    with pytest.raises(AppError, match="Only image generators can draw"):
        client.predict(prompt="x", describe=["echo"], draw=["echo"], api_name="/describe_draw")


def test_upload_size_limit(app):
    url, client, engine = app
    boundary = "arena-test-boundary"
    payload = b"x" * (21 * 1024 * 1024)
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.png\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + payload + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(f"{url}/gradio_api/upload", data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 413


def test_safe_defaults():
    args = parse_args([])
    assert args.host == "127.0.0.1" and args.share is False and args.auth is None
    kwargs = launch_kwargs(args, Settings())
    assert kwargs["server_name"] == "127.0.0.1" and kwargs["share"] is False
    assert kwargs["max_file_size"] == 20 * 1024 * 1024 and "auth" not in kwargs
    assert launch_kwargs(parse_args(["--auth", "ana:s3cret"]), Settings())["auth"] == ("ana", "s3cret")
    with pytest.raises(SystemExit, match="USER:PASSWORD"):
        launch_kwargs(parse_args(["--auth", "nopassword"]), Settings())


def test_an_idle_app_looks_for_work_every_10_ms_not_every_millisecond(tmp_path, loopback):
    catalog = write_catalog(tmp_path / "c.yaml", [openai_entry(loopback, "echo")])
    demo, engine = launch(parse_args(["--catalog", str(catalog), "--port", "0"]), block=False)
    try:
        assert demo._queue.sleep_when_free == IDLE_POLL_S["sleep_when_free"] == 0.01
        assert demo._queue.progress_update_sleep_when_free == IDLE_POLL_S["progress_update_sleep_when_free"]
        with urllib.request.urlopen(demo.local_url, timeout=30) as page:
            assert page.status == 200
    finally:
        demo.close()
        engine.close()


def test_login_is_required_when_auth_is_set(tmp_path, loopback):
    catalog = write_catalog(tmp_path / "c.yaml", [openai_entry(loopback, "echo")])
    with running_app(catalog, "--auth", "ana:s3cret") as (url, engine):
        with pytest.raises(AuthenticationError, match="credentials were not provided"):
            Client(url, verbose=False)
        client = Client(url, auth=("ana", "s3cret"), verbose=False)
        assert client.view_api(return_format="dict", print_info=False)["named_endpoints"]


def test_file_routes_serve_only_pictures_and_assets(app):
    import urllib.parse

    url, client, engine = app
    client.predict(prompt="a picture please", models=["offline-sd"], api_name="/compare")
    data = engine.store.folder
    picture = next((data / "images").rglob("*.png"))

    def status(path: str) -> int:
        try:
            with urllib.request.urlopen(f"{url}/gradio_api/file={urllib.parse.quote(str(path))}", timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as error:
            return error.code

    assert status(picture) == 200
    assert status(ROOT / "assets" / "scene.png") == 200
    assert status("/etc/passwd") == 403
    assert status(data / "arena.db") == 403
    assert status(f"{data}/images/../arena.db") == 403
    assert status(ROOT / "arena" / "default_catalog.yaml") == 403
