"""Start the real web app in this process on a free port, for API, browser and benchmark runs."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import yaml

from arena.web import launch, parse_args


def write_catalog(path: Path, entries: list[dict]) -> Path:
    path.write_text(yaml.safe_dump({"models": entries}))
    return path


@contextmanager
def running_app(catalog: Path, *extra: str):
    demo, engine = launch(parse_args(["--catalog", str(catalog), "--port", "0", *extra]), block=False)
    try:
        yield demo.local_url.rstrip("/"), engine
    finally:
        demo.close()
        engine.close()


@contextmanager
def environment(**values: str):
    """These environment variables set for the block (a module's app reads them), and as they were after it."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)


@contextmanager
def loopback_app(folder: Path, entries: list[dict], *extra: str):
    """The app on these catalog entries, its data in ``folder``, with the loopback server's key set."""
    from tests.conftest import LOOPBACK_KEY

    catalog = write_catalog(folder / "catalog.yaml", entries)
    with environment(OPENAI_API_KEY=LOOPBACK_KEY, ARENA_DATA_DIR=str(folder / "data")), \
            running_app(catalog, *extra) as (url, engine):
        yield url, engine


def picture_models(loopback) -> list[dict]:
    """Two loopback image generators (OpenAI's image API), for battles between pictures."""
    return [{"name": f"pic-{n}", "kind": "openai-image", "model": f"gpt-image-{n}", "base_url": loopback.v1}
            for n in ("one", "two")]
