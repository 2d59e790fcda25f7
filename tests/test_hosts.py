"""DNS rebinding: only the Host headers the app was started for reach any handler; the CSP is on every page."""

from __future__ import annotations

import asyncio
import http.client
from urllib.parse import urlsplit

import pytest

from arena.web import CONTENT_SECURITY_POLICY, AllowedHosts, allowed_hosts, parse_args
from tests.apprunner import running_app, write_catalog
from tests.conftest import openai_entry

PATHS = ["/", "/config", "/gradio_api/info", "/gradio_api/queue/status", "/gradio_api/file=/etc/passwd"]


def _get(url: str, path: str, host: str, method: str = "GET", body: bytes | None = None) -> tuple[int, dict]:
    where = urlsplit(url)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    try:
        connection.putrequest(method, path, skip_host=True)
        connection.putheader("Host", host)
        if body is not None:
            connection.putheader("Content-Type", "application/json")
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


@pytest.fixture(scope="module")
def app(tmp_path_factory, loopback):
    folder = tmp_path_factory.mktemp("hosts")
    catalog = write_catalog(folder / "catalog.yaml", [openai_entry(loopback, "echo")])
    with running_app(catalog, "--allowed-hosts", "arena.example.org, *.lab.example") as (url, _):
        yield url


@pytest.mark.parametrize("host", ["evil.example", "evil.example:7860", "127.0.0.1.evil.example",
                                  "localhost.evil.example", "example.org", ""])
def test_other_hosts_are_refused_before_any_handler(app, host):
    for path in PATHS:
        status, _ = _get(app, path, host)
        assert status == 400, (host, path, status)
    status, _ = _get(app, "/gradio_api/queue/join", host, "POST",
                     b'{"data": ["hi"], "fn_index": 0, "session_hash": "x"}')
    assert status == 400


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST:1234", "[::1]:80", "arena.example.org",
                                  "gpu.lab.example:7860"])
def test_the_hosts_it_was_started_for_are_served_on_any_port(app, host):
    port = urlsplit(app).port
    for name in (host, f"{host}:{port}" if ":" not in host.replace("[::1]", "") else host):
        status, headers = _get(app, "/", name)
        assert status == 200, (name, status)
        assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    status, _ = _get(app, "/config", "127.0.0.1")
    assert status == 200


def test_every_page_carries_the_policy(app):
    status, headers = _get(app, "/", "127.0.0.1")
    policy = headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["img-src"] == "'self' data: blob:" and directives["connect-src"] == "'self'"
    assert directives["form-action"] == "'self'" and directives["frame-ancestors"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["base-uri"] == "'self'"
    assert headers["x-content-type-options"] == "nosniff"


def test_the_host_list_follows_the_arguments(monkeypatch):
    monkeypatch.setenv("ARENA_ALLOWED_HOSTS", "Arena.Example.org")
    assert allowed_hosts(parse_args([])) == ["127.0.0.1", "localhost", "[::1]", "arena.example.org"]
    assert "10.0.0.5" in allowed_hosts(parse_args(["--host", "10.0.0.5"]))
    assert "[fd00::5]" in allowed_hosts(parse_args(["--host", "fd00::5"]))
    assert "*.gradio.live" in allowed_hosts(parse_args(["--share"]))


def _status(middleware, host: str) -> int:
    sent = []

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [(b"host", host.encode())],
             "query_string": b"", "root_path": ""}
    asyncio.run(middleware(scope, receive, send))
    return sent[0]["status"]


def test_on_every_interface_an_ip_address_passes_but_names_still_do_not():
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    hosts = allowed_hosts(parse_args(["--host", "0.0.0.0"]))
    everywhere = AllowedHosts(app, hosts, any_address=True)
    assert [_status(everywhere, h) for h in ("192.168.1.5:7860", "[fe80::1]:7860", "10.0.0.2")] == [200, 200, 200]
    assert [_status(everywhere, h) for h in ("evil.example", "192.168.1.5.nip.io", "")] == [400, 400, 400]
    loopback_only = AllowedHosts(app, allowed_hosts(parse_args([])))
    assert _status(loopback_only, "192.168.1.5") == 400 and _status(loopback_only, "127.0.0.1:1") == 200
