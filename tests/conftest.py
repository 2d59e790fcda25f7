"""Shared fixtures: no network anywhere, a loopback API server, tiny offline models built once per run."""

from __future__ import annotations

import os

# Before gradio, huggingface_hub or transformers are imported by any test module.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.pop("OPENAI_API_KEY", None)
os.environ.pop("MISTRAL_API_KEY", None)
os.environ.pop("OPENAI_BASE_URL", None)

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from arena.catalog import Catalog, ModelEntry  # noqa: E402
from arena.engine import Engine  # noqa: E402
from arena.settings import Settings  # noqa: E402
from tests.loopback import LoopbackServer  # noqa: E402

LOOPBACK_KEY = "lk-Q7v2R9mX4tZ8wB3n"  # random-looking: 8-character pieces of keys are scrubbed
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def offline_models(tmp_path_factory) -> Path:
    """Built once per test run and shared: each build costs a few seconds."""
    return tmp_path_factory.mktemp("offline-models")


@pytest.fixture(autouse=True)
def _data_dir(tmp_path, monkeypatch, offline_models):
    monkeypatch.setenv("ARENA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ARENA_OFFLINE_MODELS", str(offline_models))
    monkeypatch.delenv("ARENA_CATALOG", raising=False)


@pytest.fixture(scope="session")
def loopback():
    with LoopbackServer(api_key=LOOPBACK_KEY) as server:
        yield server


@pytest.fixture
def keys(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", LOOPBACK_KEY)
    monkeypatch.setenv("MISTRAL_API_KEY", LOOPBACK_KEY)


def openai_entry(loopback: LoopbackServer, name: str, model: str | None = None, **fields) -> dict:
    return {"name": name, "kind": "openai-chat", "model": model or name, "base_url": loopback.v1, **fields}


def mistral_entry(loopback: LoopbackServer, name: str, model: str | None = None, **fields) -> dict:
    return {"name": name, "kind": "mistral-chat", "model": model or name, "base_url": loopback.url, **fields}


OFFLINE_ENTRIES = [
    {"name": "offline-pixtral", "kind": "transformers", "model": "offline:pixtral",
     "params": {"max_tokens": 12}, "extra": {"min_new_tokens": 12}, "context_tokens": 1536},
    {"name": "offline-llama-vision", "kind": "transformers", "model": "offline:llama-vision",
     "params": {"max_tokens": 12}, "extra": {"min_new_tokens": 12}, "context_tokens": 1536},
    {"name": "offline-sd", "kind": "diffusers", "model": "offline:stable-diffusion",
     "params": {"steps": 3, "guidance": 0.0, "width": 64, "height": 64}},
]


def make_engine(entries: list[dict], **settings) -> Engine:
    catalog = Catalog([ModelEntry.model_validate(e) for e in entries])
    return Engine(catalog, Settings.from_env(**settings))


@pytest.fixture
def engine_factory():
    engines = []

    def factory(entries: list[dict], **settings) -> Engine:
        engines.append(make_engine(entries, **settings))
        return engines[-1]

    yield factory
    for engine in engines:
        engine.close()


@pytest.fixture(scope="module")
def browser():
    """Headless Debian chromium, one per test module (tests/browser.py has its flags)."""
    from playwright.sync_api import sync_playwright

    from tests.browser import launch

    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()
