"""python -m arena pull / models against the loopback Hugging Face Hub, in a process of their own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.apprunner import write_catalog
from tests.conftest import ROOT
from tests.helpers import wait_until
from tests.hub import PADDING, REPOS, build_all, hub_environment, standard_hub

CATALOG = [
    {"name": "smolvlm-tiny", "kind": "transformers", "model": REPOS["smolvlm"],
     "params": {"max_tokens": 6}, "extra": {"min_new_tokens": 6}},
    {"name": "sd-tiny", "kind": "diffusers", "model": REPOS["sd-turbo"],
     "params": {"steps": 1, "guidance": 0.0, "width": 64, "height": 64}},
    {"name": "gated", "kind": "transformers", "model": "meta-llama/gated-tiny"},
    {"name": "nowhere", "kind": "transformers", "model": "nobody/no-such-model"},
    {"name": "huge", "kind": "transformers", "model": "huge/vlm-9000b"},
    {"name": "offline-sd", "kind": "diffusers", "model": "offline:stable-diffusion"},
]


@pytest.fixture(scope="module")
def hub_server(tmp_path_factory):
    repos = build_all(tmp_path_factory.getbasetemp() / "hub-repos")
    with standard_hub(repos["smolvlm"].parent) as server:
        yield server


@pytest.fixture
def arena(hub_server, tmp_path):
    catalog = write_catalog(tmp_path / "catalog.yaml", CATALOG)
    env = {name: value for name, value in os.environ.items() if name not in ("HF_HUB_OFFLINE", "HF_TOKEN")}
    env |= hub_environment(hub_server, tmp_path / "hf-cache")

    def run(*args, **extra):
        return subprocess.run([sys.executable, "-m", "arena", "--catalog", str(catalog), *args], cwd=ROOT,
                              env=env | extra, capture_output=True, text=True, timeout=300)

    return run


def test_pull_shows_progress_then_the_model_is_listed_and_runs(arena, hub_server, tmp_path):
    before = arena("models").stdout
    assert "smolvlm-tiny  transformers  unavailable: not downloaded: 290 kB to download · " \
           "`pull smolvlm-tiny` downloads it" in before

    pulled = arena("pull", "smolvlm-tiny", "sd-tiny")
    assert pulled.returncode == 0, pulled.stderr
    assert pulled.stdout.splitlines() == [
        f"smolvlm-tiny: downloaded 290 kB ({REPOS['smolvlm']}, 290 kB on disk)",
        f"sd-tiny: downloaded 5 MB ({REPOS['sd-turbo']}, 5 MB on disk)",
    ]
    assert "smolvlm-tiny: 100%" in pulled.stderr and "B/s]" in pulled.stderr  # tqdm: bytes, speed, time left

    after = arena("models").stdout
    assert "smolvlm-tiny  transformers  available (downloaded, 290 kB on disk)" in after

    fetched = len(hub_server.downloads())
    again = arena("pull", "smolvlm-tiny")
    assert again.returncode == 0 and again.stdout.startswith("smolvlm-tiny: already downloaded")
    assert len(hub_server.downloads()) == fetched

    out = tmp_path / "out"
    ran = arena("compare", "a charming spider at work", "--models", "smolvlm-tiny,sd-tiny", "--out", str(out),
                "--no-save")
    assert ran.returncode == 0, ran.stderr
    assert (out / "smolvlm-tiny.md").read_text().strip() and (out / "sd-tiny.png").exists()


def test_pull_says_why_it_cannot_in_one_line_each(arena, hub_server):
    result = arena("pull", "gated", "nowhere", "huge", "offline-sd")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert f"arena: gated: gated: accept the licence on {hub_server.url}/meta-llama/gated-tiny, then set HF_TOKEN" \
        in lines
    assert "arena: nowhere: no repository nobody/no-such-model on the Hub (check the name; a private one needs " \
           "HF_TOKEN)" in lines
    assert any(line.startswith("arena: huge: will not fit: the weights need about 43,200 TB, this machine has ")
               for line in lines)
    assert result.stdout.splitlines() == ["offline-sd: nothing to download (offline:stable-diffusion is not a "
                                          "Hugging Face model of a local kind)"]
    assert "Traceback" not in result.stderr
    assert not hub_server.downloads("meta-llama/gated-tiny")

    unknown = arena("pull", "no-such-name")
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == "arena: unknown model no-such-name; see `models` for the catalog's names"

    offline = arena("pull", "smolvlm-tiny", HF_HUB_OFFLINE="1")
    assert offline.returncode == 1
    assert offline.stderr.strip() == ("arena: smolvlm-tiny: weights not in the Hugging Face cache (not downloaded), "
                                      "and HF_HUB_OFFLINE is set")


def _size(path: Path) -> int:
    """A small file's .incomplete is renamed the moment it ends, between glob() and stat()."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def test_ctrl_c_then_pull_again_goes_on_from_where_it_stopped(hub_server, tmp_path):
    import signal

    catalog = write_catalog(tmp_path / "catalog.yaml", [
        {"name": "padded", "kind": "transformers", "model": REPOS["smolvlm-padded"]}])
    cache = tmp_path / "hf-cache"
    env = {name: value for name, value in os.environ.items() if name != "HF_HUB_OFFLINE"}
    env |= hub_environment(hub_server, cache)
    command = [sys.executable, "-m", "arena", "--catalog", str(catalog), "pull", "padded"]
    hub_server.rate = 4_000_000  # the 25 MB model takes several seconds
    try:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        def under_way() -> bool:
            assert process.poll() is None, "the pull ended before it was stopped"
            return any(_size(p) > 2_000_000 for p in cache.glob("models--*/blobs/*.incomplete"))

        wait_until(under_way, timeout=120, interval=0.05, what="2 MB of the pull")
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        hub_server.rate = None
    assert process.returncode == 130
    assert "arena: padded: stopped; `pull padded` again goes on from where it stopped" in stderr
    [partial] = cache.glob("models--*/blobs/*.incomplete")
    kept = partial.stat().st_size

    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    ranges = [h.get("range") for p, h in hub_server.downloads(REPOS["smolvlm-padded"]) if p.endswith(PADDING)]
    assert ranges[-1] == f"bytes={kept}-"
    assert not list(cache.glob("models--*/blobs/*.incomplete"))
