"""The catalog: the shipped one is valid; bad files are refused with the entry and field named."""

from __future__ import annotations

import pytest

from arena.catalog import Catalog, CatalogError, ModelEntry, check_availability
from arena.settings import DEFAULT_CATALOG


def test_the_shipped_catalog_covers_every_backend_kind():
    catalog = Catalog.load(DEFAULT_CATALOG)
    kinds = {entry.kind for entry in catalog}
    assert kinds == {"mistral-chat", "mistral-image", "openai-chat", "openai-image", "transformers", "diffusers"}
    offline = [e.name for e in catalog if e.is_offline_model]
    assert offline == ["offline-pixtral", "offline-llama-vision", "offline-sd"]
    models = {entry.model for entry in catalog}
    for expected in ("mistral-community/pixtral-12b", "meta-llama/Llama-3.2-11B-Vision-Instruct",
                     "stabilityai/sd-turbo", "stabilityai/sdxl-turbo", "black-forest-labs/FLUX.1-schnell",
                     "mistral-medium-latest", "llama3.2-vision", "gpt-image-1"):
        assert expected in models


@pytest.mark.parametrize("text, message", [
    ("models: [", "not valid YAML: line 2, column 1: did not find expected node content"),
    ("models:\n  a: b: c", "not valid YAML: line 2, column 7: mapping values are not allowed in this context"),
    ("- just a list", "expected a mapping with a 'models:' list"),
    ("models: 3", "expected a mapping with a 'models:' list"),
    ("models:\n  - {name: a, kind: telepathy, model: x}", "model a: kind: Input should be"),
    ("models:\n  - {name: a, kind: openai-chat}", "model a: model: Field required"),
    ("models:\n  - {name: '../etc', kind: openai-chat, model: x}", "model ../etc: name: String should match"),
    ("models:\n  - {name: a, kind: openai-chat, model: x, base_url: 'file:///etc'}", "base_url: Value error"),
    ("models:\n  - {name: a, kind: openai-chat, model: x, api_key: secret}", "api_key: Extra inputs"),
    ("models:\n  - {name: a, kind: openai-chat, model: x, params: {temperature: 9}}", "params.temperature"),
    ("models:\n  - {name: a, kind: openai-chat, model: x}\n  - {name: a, kind: openai-chat, model: y}",
     "repeated: a"),
])
def test_malformed_catalogs_name_the_problem(tmp_path, text, message):
    path = tmp_path / "catalog.yaml"
    path.write_text(text)
    with pytest.raises(CatalogError, match=message.replace("(", r"\(").replace("[", r"\[")):
        Catalog.load(path)


def test_missing_catalog_file(tmp_path):
    with pytest.raises(CatalogError, match="cannot read .*nope.yaml"):
        Catalog.load(tmp_path / "nope.yaml")


def entry(**fields) -> ModelEntry:
    return ModelEntry.model_validate({"name": "m", "kind": "openai-chat", "model": "x", **fields})


def test_availability_reasons(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert check_availability(entry()).reason == "OPENAI_API_KEY is not set (environment or .env)"
    monkeypatch.setenv("OPENAI_API_KEY", "x" * 20)
    assert check_availability(entry()).ok
    closed = check_availability(entry(base_url="http://127.0.0.1:9/v1", api_key_env=None))
    assert not closed.ok and closed.reason == "no server answers at http://127.0.0.1:9/v1"
    hub = check_availability(entry(kind="transformers", model="someone/not-downloaded"))
    assert not hub.ok and "not in the Hugging Face cache" in hub.reason
    folder = check_availability(entry(kind="diffusers", model=str(tmp_path)))
    assert not folder.ok and "has no model_index.json" in folder.reason
    (tmp_path / "model_index.json").write_text("{}")
    assert check_availability(entry(kind="diffusers", model=str(tmp_path))).ok
    assert check_availability(entry(kind="diffusers", model="offline:stable-diffusion")).ok
    assert not check_availability(entry(kind="diffusers", model="offline:nothing")).ok


def test_defaults_follow_the_kind():
    assert entry().api_key_env == "OPENAI_API_KEY" and entry().image_input
    image = ModelEntry(name="g", kind="openai-image", model="gpt-image-1")
    assert image.output == "image" and image.image_input is False
    assert entry(api_key_env=None).api_key_env is None
