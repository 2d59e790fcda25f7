"""A backend kind knows everything about itself: the registry maps names to classes, the catalog asks them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from arena import backends
from arena.backends import KINDS, REGISTRY, backend_class
from arena.backends.local import LocalBackend
from arena.catalog import ModelEntry
from arena.request import Request
from tests.conftest import mistral_entry, openai_entry

HEAVY = ("torch", "transformers", "diffusers", "openai", "mistralai")


def test_every_kind_in_the_registry_describes_itself():
    assert KINDS == tuple(REGISTRY)
    for kind in KINDS:
        cls = backend_class(kind)
        assert cls.label and cls.output in ("text", "image")
        assert cls.libraries and cls.runs_locally == issubclass(cls, LocalBackend)
        if cls.runs_locally:
            assert cls.key_env is None and cls.weights_marker.endswith(".json")
        else:
            assert cls.key_env in ("MISTRAL_API_KEY", "OPENAI_API_KEY")


def test_an_entry_takes_its_defaults_from_its_kind():
    chat = ModelEntry(name="c", kind="mistral-chat", model="m")
    assert (chat.api_key_env, chat.image_input, chat.output, chat.is_local) == ("MISTRAL_API_KEY", True, "text", False)
    local = ModelEntry(name="d", kind="diffusers", model="offline:stable-diffusion")
    assert (local.api_key_env, local.image_input, local.output, local.is_local) == (None, False, "image", True)
    assert local.kind_label == "local diffusers text-to-image (random-weight offline model)"
    assert ModelEntry(name="t", kind="transformers", model="x").backend.weights_marker == "config.json"


def test_an_unknown_kind_lists_the_registry_names():
    with pytest.raises(ValueError, match="'mistral-chat'.*'diffusers'"):
        ModelEntry(name="x", kind="anthropic", model="m")


def test_versions_recorded_come_from_the_kind():
    versions = backend_class("diffusers").library_versions()
    assert {"arena", "pillow", "torch", "diffusers", "transformers"} <= set(versions)
    assert set(backend_class("openai-chat").library_versions()) == {"arena", "pillow", "openai"}


def test_loading_the_catalog_imports_no_sdk_and_no_torch():
    code = (
        "import sys\n"
        "from arena.catalog import Catalog, check_availability\n"
        "from arena import paths\n"
        "catalog = Catalog.load(paths.DEFAULT_CATALOG)\n"
        "[(e.output, e.is_local, e.kind_label, check_availability(e)) for e in catalog]\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))\n"
    )
    env = {"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert result.stdout.strip() == "[]", result.stdout


def test_the_registry_is_the_only_table_of_kinds():
    import arena.catalog
    import arena.store

    for module in (arena.catalog, arena.store):
        names = [n for n in vars(module) if n.isupper() and isinstance(vars(module)[n], (dict, set, frozenset))]
        assert not [n for n in names if set(KINDS) & set(vars(module)[n])], names
    assert backends.backend_class("openai-chat") is backends.backend_class("openai-chat")


@pytest.mark.parametrize("flavour", ["openai", "mistral"])
@pytest.mark.parametrize("retries", [0, 1, 3])
def test_max_retries_is_a_count(loopback, keys, engine_factory, flavour, retries):
    make = openai_entry if flavour == "openai" else mistral_entry
    model = f"fail429-{flavour}-{retries}"
    engine = engine_factory([make(loopback, "busy", model=model, max_retries=retries)])
    pane = engine.start(Request("hello"), ["busy"]).wait()[0]
    assert pane.status == "error" and "HTTP 429" in pane.error
    assert loopback.count(model) == 1 + retries


def test_a_sweep_axis_applies_to_the_kinds_that_read_its_parameters():
    from arena.sweeps import Axis

    assert [k for k in KINDS if Axis("steps", ()).applies_to(k)] == ["diffusers"]
    assert [k for k in KINDS if Axis("size", ()).applies_to(k)] == ["openai-image", "diffusers"]
    assert not Axis("seed", ()).applies_to("mistral-image") and Axis("prompt", ()).applies_to("mistral-image")
