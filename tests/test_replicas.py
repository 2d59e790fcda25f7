"""Two app processes on one PostgreSQL database and one bucket behave as one Arena: what one saves the other lists,
votes cast on both count once each, a suite run started on one is shown on the other; and the same behind nginx
with deploy/nginx.conf's sticky sessions."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import pytest
from gradio_client import Client

from arena.settings import Settings
from arena.store import Filter, open_store
from arena.store.votes import VoteFilter, VoteStore
from tests.apprunner import write_catalog
from tests.browser import needs_chromium
from tests.conftest import ARTIFACTS, LOOPBACK_KEY, ROOT, openai_entry
from tests.helpers import free_port, wait_until
from tests.postgres import postgres  # noqa: F401 (fixture)
from tests.s3 import s3_environment, s3_server  # noqa: F401 (fixture)

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SUITE = """name: team
version: 1
cases:
  - {id: greet, prompt: say hello, checks: [{contains: hello}]}
  - {id: shape, prompt: what shape is a wheel?}
"""


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


class Replica:
    def __init__(self, name: str, folder: Path, catalog: Path, suites: Path, env: dict[str, str]):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / f"{name}.log"
        command = [sys.executable, "app.py", "--port", str(self.port), "--catalog", str(catalog),
                   "--data-dir", str(folder / name), "--suites-dir", str(suites)]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def wait(self) -> None:
        def up() -> bool:
            assert self.process.poll() is None, f"the replica ended:\n{self.log.read_text()[-3000:]}"
            return answers(self.url + "/")
        wait_until(up, timeout=120, interval=0.2, what=f"the replica on port {self.port}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="module")
def team(tmp_path_factory, postgres, s3_server, loopback):  # noqa: F811
    postgres_url = postgres.fresh_database()
    folder = tmp_path_factory.mktemp("team")
    bucket = f"team-{uuid.uuid4().hex[:10]}"
    s3_server.client().create_bucket(Bucket=bucket)
    suites = folder / "suites"
    suites.mkdir()
    (suites / "team.yaml").write_text(SUITE)
    catalog = write_catalog(folder / "catalog.yaml", [
        openai_entry(loopback, "alpha", model="echo"),
        openai_entry(loopback, "bravo", model="words4-bravo"),
        {"name": "painter", "kind": "openai-image", "model": "gpt-image-one", "base_url": loopback.v1},
    ])
    env = {**os.environ, **s3_environment(s3_server, bucket), "ARENA_DATABASE_URL": postgres_url,
           "OPENAI_API_KEY": LOOPBACK_KEY, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1",
           "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    replicas = [Replica(name, folder, catalog, suites, env) for name in ("one", "two")]
    try:
        for replica in replicas:
            replica.wait()
        settings = Settings(data_dir=folder / "reader", database_url=postgres_url, storage="s3")
        with _env(env):
            store = open_store(settings, recover=False)
        yield replicas, store, folder, env
    finally:
        for replica in replicas:
            replica.stop()


class _env:
    """The replicas' environment in this process too (the reader's store opens the same bucket)."""

    def __init__(self, values: dict[str, str]):
        self.values = values

    def __enter__(self):
        self.saved = dict(os.environ)
        os.environ.update(self.values)

    def __exit__(self, *exc):
        os.environ.clear()
        os.environ.update(self.saved)


def test_what_one_replica_saves_the_other_lists_and_serves(team, browser):
    (one, two), store, _, _ = team
    result = Client(one.url, verbose=False).predict(
        prompt="a charming spider at work, by the team", models=["alpha", "painter"], api_name="/compare")
    assert result["finished"] and [p["status"] for p in result["panes"]] == ["done", "done"], result
    records, total = store.query(Filter(words="team spider"))
    assert total == 2 and {r.model for r in records} == {"alpha", "painter"}
    [picture] = [r for r in records if r.model == "painter"]
    assert picture.images and store.images.exists(picture.images[0])

    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.goto(two.url)
    page.get_by_role("tab", name="Gallery").click()
    card = page.locator("#gallery-grid .ga-card", has_text="painter").first
    card.wait_for(timeout=30_000)
    thumb = card.locator("img").first
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=thumb.element_handle(),
                           timeout=30_000)  # the picture, from the bucket through replica two's cache
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "replicas-gallery-on-two.png"))
    page.close()


def test_votes_cast_on_both_replicas_count_once_each(team):
    replicas, store, _, _ = team
    battles = []
    for replica in replicas:
        client = Client(replica.url, verbose=False)
        final = client.predict(prompt="Say something.", kind="text", models=["alpha", "bravo"], api_name="/battle")
        voted = client.predict(battle_id=final["battle_id"], outcome="tie", reason="", api_name="/vote")
        assert voted["accepted"] is True
        battles.append(final["battle_id"])
    votes = [v for v in VoteStore(store).rows(VoteFilter(voter_kind=None)) if v.battle_id in battles]
    assert sorted(v.battle_id for v in votes) == sorted(battles)


@needs_chromium
def test_a_suite_run_started_on_one_replica_is_shown_on_the_other(team, browser):
    (one, two), store, folder, _ = team
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.goto(one.url)
    page.get_by_role("tab", name="Suites").click()
    page.locator("#suite-file input").fill(str(folder / "suites" / "team.yaml"))
    page.locator("#suite-file input").press("Enter")
    page.locator("#suite-info", has_text="2 cases").wait_for(timeout=20_000)
    page.locator("#suite-models label", has_text="alpha ·").click()
    page.click("#suite-run")
    page.wait_for_selector("#suite-progress [data-state=ended]", timeout=60_000)
    [run] = [r for r in store.list_runs("team")]
    assert run.status == "finished" and run.done == 2

    other = browser.new_page(viewport={"width": 1440, "height": 1000})
    other.goto(two.url)
    other.get_by_role("tab", name="Suites").click()
    other.wait_for_function(
        "(document.querySelector('#suite-run-pick input')?.value ?? '').includes('finished · 2 cells')",
        timeout=30_000)
    assert "team" in other.locator("#suite-run-pick input").input_value()
    page.close()
    other.close()


def nginx_config(folder: Path, listen: int, replicas: list[Replica]) -> Path:
    """deploy/nginx.conf with this test's ports and a temporary folder of its own."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    text = text.replace("/tmp/arena-nginx", str(folder / "nginx"))
    text = text.replace("listen 8080;", f"listen 127.0.0.1:{listen};")
    servers = "".join(f"        server 127.0.0.1:{r.port} max_fails=2 fail_timeout=10s;\n" for r in replicas)
    text = re.sub(r"(        server 127\.0\.0\.1:786\d [^\n]*\n)+", servers, text)
    path = folder / "nginx.conf"
    path.write_text(text)
    return path


@needs_chromium
@pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx is not installed")
def test_behind_nginx_each_browser_stays_on_one_replica_and_answers_stream(team, browser, tmp_path):
    replicas, store, _, _ = team
    folder = tmp_path / "proxy"
    folder.mkdir()
    os.chmod(tmp_path, 0o755)  # nginx's workers may run as another user: they write their temporary files here
    folder.chmod(0o777)
    port = free_port()
    config = nginx_config(folder, port, replicas)
    proxy = subprocess.Popen([NGINX, "-c", str(config), "-g", "daemon off;"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: proxy.poll() is None and answers(url + "/"), timeout=30, interval=0.1,
                   what="nginx in front of the replicas")
        for attempt in range(3):  # three browsers (three cookies), each run streamed through the proxy
            context = browser.new_context(viewport={"width": 1440, "height": 1000})
            page = context.new_page()
            page.goto(url)
            page.wait_for_selector("#arena-models label")
            for label in page.locator("#arena-models label").all():
                if label.inner_text().startswith(("alpha ·", "bravo ·")) != label.locator("input").is_checked():
                    label.click()
            page.fill("#arena-prompt textarea", f"through the proxy {attempt}")
            page.click("#arena-run")
            page.wait_for_function(
                "document.querySelectorAll('.arena-pane-foot[data-status=done] .arena-saved').length === 2",
                timeout=60_000)
            [cookie] = [c for c in context.cookies() if c["name"] == "arena_route"]
            assert cookie["value"] and cookie["httpOnly"]
            if attempt == 0:
                page.screenshot(path=str(ARTIFACTS / "replicas-behind-nginx.png"))
            context.close()
        _, total = store.query(Filter(words="through proxy"))
        assert total == 6
        # Gradio builds the URLs of pictures from the root it serves in its config, from the forwarded Host:
        # it must keep the proxy's port ($host dropped it, and pictures pointed at port 80).
        with urllib.request.urlopen(url + "/config", timeout=10) as response:
            assert json.load(response)["root"] == url
    finally:
        proxy.terminate()
        proxy.wait(timeout=20)


@needs_chromium
def test_a_run_interrupted_on_one_replica_is_resumed_on_the_other(team, browser):
    (one, two), store, folder, _ = team
    from arena.store import RunCell
    from arena.suites.model import load_suite

    path = folder / "suites" / "team.yaml"
    suite = load_suite(path)
    run = store.start_run(suite.name, str(suite.version), str(path), ["alpha"], None,
                          [case.id for case in suite.cases])
    first = suite.cases[0]  # as replica one recorded it before it went away mid-run
    store.save_cell(RunCell(run_id=run.id, case_id=first.id, case_hash=suite.case_hash(first), model="alpha",
                            sample=0, output_id=None, status="done", cached=False, refused=None, checks=[]))
    store.finish_run(run.id, "interrupted")

    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.goto(two.url)
    page.get_by_role("tab", name="Suites").click()
    page.locator("#suite-run-pick input").click()
    page.get_by_role("option", name=re.compile(f"interrupted · 1 cells · {run.id}")).click()
    page.click("#suite-resume")
    page.wait_for_selector("#suite-progress [data-state=ended]", timeout=60_000)
    assert "1 of 1 cells" in page.locator("#suite-progress").inner_text()
    resumed = store.get_run(run.id)
    assert resumed.status == "finished" and store.done_cells(run.id) == {(c.id, "alpha", 0) for c in suite.cases}
    page.close()
