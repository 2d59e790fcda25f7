"""Local servers discovered: Ollama- and llama.cpp-like servers on loopback, through the catalog and the engine."""

from __future__ import annotations

import socket
from urllib.parse import urlparse

import pytest
import yaml
from PIL import Image

from arena.catalog import Catalog, CatalogError, ModelEntry
from arena.images import InputImage
from arena.paths import DEFAULT_CATALOG
from arena.request import Request
from tests.apprunner import write_catalog
from tests.conftest import make_engine
from tests.helpers import arena, wait_until
from tests.ollama_loopback import LlamaCppServer, LMStudioServer, LocalServer, OllamaServer

SCENE = InputImage(Image.new("RGB", (32, 32), (200, 40, 40)))
OLLAMA_MODELS = {
    "llava:7b": ["completion", "vision"],
    "qwen3:latest": ["completion", "tools", "thinking"],
    "nomic-embed-text:latest": ["embedding"],
}


def source(name: str, url: str, **fields) -> dict:
    return {"name": name, "kind": "openai-chat", "discover": True, "base_url": url, "api_key_env": None, **fields}


def catalog_of(*entries: dict) -> Catalog:
    return Catalog([ModelEntry.model_validate(e) for e in entries])


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def ollama():
    with OllamaServer(OLLAMA_MODELS) as server:
        yield server


def test_each_model_on_the_server_becomes_an_entry_with_the_images_it_takes(ollama):
    catalog = catalog_of({"name": "echo", "kind": "openai-chat", "model": "echo"}, source("ollama", ollama.v1))
    assert catalog.names() == ["echo", "ollama-llava-7b", "ollama-qwen3"]  # the embedding model cannot chat
    llava, qwen = catalog["ollama-llava-7b"], catalog["ollama-qwen3"]
    assert (llava.model, llava.base_url, llava.image_input) == ("llava:7b", ollama.v1, True)
    assert (qwen.model, qwen.image_input) == ("qwen3:latest", False)
    assert "text only" in qwen.description and llava.kind == "openai-chat" and not llava.discover
    asked = sorted(s.body["model"] for s in ollama.requests if s.path == "/api/show")
    assert asked == sorted(OLLAMA_MODELS)


def test_a_text_only_model_is_never_sent_the_image(ollama):
    engine = make_engine([source("ollama", ollama.v1)])
    try:
        panes = engine.start(Request("what is in the picture?", SCENE), ["ollama-llava-7b", "ollama-qwen3"]).wait()
    finally:
        engine.close()
    by_model = {p.model: p for p in panes}
    assert all(p.status == "done" for p in panes), [p.error for p in panes]
    assert "I got an image" in by_model["ollama-llava-7b"].text
    assert "I got no image" in by_model["ollama-qwen3"].text
    assert any("not sent" in n for n in by_model["ollama-qwen3"].notices)
    [sent] = ollama.chats("qwen3:latest")
    assert sent["messages"] == [{"role": "user", "content": "what is in the picture?"}]
    assert "base64" not in str(sent)  # no image in any shape, not even as text
    [with_image] = ollama.chats("llava:7b")
    assert with_image["messages"][-1]["content"][1]["type"] == "image_url"


def test_llama_cpp_says_whether_its_model_takes_images():
    with LlamaCppServer("gemma-3-4b", vision=True) as seeing, LlamaCppServer("qwen2.5-0.5b", vision=False) as blind:
        catalog = catalog_of(source("seeing", seeing.v1), source("blind", blind.v1))
        assert catalog["seeing-gemma-3-4b"].image_input is True
        assert catalog["blind-qwen2.5-0.5b"].image_input is False
        assert any(s.path == "/props" for s in blind.requests)


def test_lm_studio_says_which_models_are_vision_models():
    types = {"qwen2-vl-2b-instruct": "vlm", "llama-3.2-1b-instruct": "llm", "text-embedding-nomic": "embeddings"}
    with LMStudioServer(types) as server:
        catalog = catalog_of(source("lmstudio", server.v1))
        assert catalog.names() == ["lmstudio-qwen2-vl-2b-instruct", "lmstudio-llama-3.2-1b-instruct"]
        assert catalog["lmstudio-qwen2-vl-2b-instruct"].image_input is True
        assert catalog["lmstudio-llama-3.2-1b-instruct"].image_input is False


def test_a_server_that_cannot_say_keeps_the_entrys_image_input():
    with LocalServer({"some-model": []}) as plain:
        catalog = catalog_of(source("plain", plain.v1), source("plaintext", plain.v1, image_input=False))
        assert catalog["plain-some-model"].image_input is True
        assert catalog["plaintext-some-model"].image_input is False


def test_nothing_answering_gives_no_entries_and_no_error():
    catalog = catalog_of({"name": "echo", "kind": "openai-chat", "model": "echo"},
                         source("ollama", f"http://127.0.0.1:{closed_port()}/v1"),
                         source("llamacpp", f"http://127.0.0.1:{closed_port()}/v1"))
    assert catalog.names() == ["echo"]
    assert "ollama" not in catalog and "ollama-anything" not in catalog


def test_a_server_answering_something_else_gives_no_entries():
    with LlamaCppServer("x", vision=False) as server:
        catalog = catalog_of(source("wrong", server.url + "/nothing-here/v1"))
        assert catalog.names() == []


def test_check_availability_again_finds_a_newly_pulled_model(ollama):
    engine = make_engine([source("ollama", ollama.v1)])
    try:
        assert "ollama-llama3.2-vision" not in engine.catalog.names()
        ollama.models["llama3.2-vision:latest"] = ["completion", "vision"]
        del ollama.models["llava:7b"]
        engine.availability.forget()  # what "Check availability again" does
        names = engine.catalog.names()
        assert "ollama-llama3.2-vision" in names and "ollama-llava-7b" not in names
        assert engine.catalog["ollama-llama3.2-vision"].image_input is True
        assert engine.availability.check(engine.catalog["ollama-llama3.2-vision"]).ok
        # A model that went away is still known by name (a pane started on it says what the server says).
        assert engine.catalog["ollama-llava-7b"].model == "llava:7b"
    finally:
        engine.close()


def test_a_stale_list_serves_at_once_while_the_server_is_asked_again(ollama):
    catalog = catalog_of(source("ollama", ollama.v1))
    assert "ollama-llava-7b" in catalog.names()
    catalog.discovery.ttl_s = 0  # every list is stale now
    ollama.models["moondream:latest"] = ["completion", "vision"]
    asked = len(ollama.requests)
    assert "ollama-moondream" not in catalog.names()  # the old list, not a wait for the server
    wait_until(lambda: "ollama-moondream" in catalog.names(), what="the background refresh")
    assert len(ollama.requests) > asked


def test_discovered_names_stay_unique_and_valid(ollama):
    ollama.models.update({"llava-7b": ["completion"], "team/model:q4_K_M": ["completion"]})
    names = catalog_of(source("ollama", ollama.v1)).names()
    assert {"ollama-llava-7b", "ollama-llava-7b-2", "ollama-team-model-q4_K_M"} <= set(names)
    for name in names:
        ModelEntry.model_validate({"name": name, "kind": "openai-chat", "model": "x"})


def test_a_catalogued_name_wins_over_a_discovered_one(ollama):
    catalog = catalog_of({"name": "ollama-llava-7b", "kind": "openai-chat", "model": "echo"},
                         source("ollama", ollama.v1))
    assert catalog["ollama-llava-7b"].model == "echo" and catalog.names().count("ollama-llava-7b") == 1


@pytest.mark.parametrize("fields, message", [
    ({"kind": "transformers"}, "discover: true needs kind openai-chat and a base_url"),
    ({"base_url": None}, "discover: true needs kind openai-chat and a base_url"),
    ({"discover": "sometimes"}, "discover: Input should be a valid boolean"),
])
def test_discovery_entries_are_validated(tmp_path, fields, message):
    entry = {**source("ollama", "http://127.0.0.1:9/v1"), **fields}
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump({"models": [entry]}))
    with pytest.raises(CatalogError, match=message):
        Catalog.load(path)


def test_the_built_in_catalog_discovers_ollama_llama_cpp_and_lm_studio():
    catalog = Catalog.load(DEFAULT_CATALOG)
    ports = {urlparse(e.base_url).port for e in catalog.discovery.sources}
    assert ports == {11434, 8080, 1234}
    assert all(e.api_key_env is None and e.kind == "openai-chat" for e in catalog.discovery.sources)


def test_arena_models_lists_what_the_servers_offer(tmp_path, ollama):
    catalog = write_catalog(tmp_path / "c.yaml", [
        source("ollama", ollama.v1), source("llamacpp", f"http://127.0.0.1:{closed_port()}/v1")])
    result = arena("--catalog", str(catalog), "models")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["ollama-llava-7b", "ollama-qwen3"]
    assert all("available" in line and "unavailable" not in line for line in lines)


def test_the_check_availability_again_button_lists_a_new_model(ollama):
    import gradio as gr

    from arena.ui.compare import CompareView

    engine = make_engine([source("ollama", ollama.v1)])
    try:
        view = CompareView(engine)
        with gr.Blocks():
            view.build()
        ollama.models["moondream:latest"] = ["completion", "vision"]
        models = view.refresh()[0]  # the handler behind "Check availability again": the model choices first
        assert ("ollama-moondream · OpenAI-compatible chat", "ollama-moondream") in models.choices
    finally:
        engine.close()


def test_the_catalog_table_says_what_each_server_answered(ollama):
    from arena.ui.compare import CompareView

    engine = make_engine([source("ollama", ollama.v1), source("llamacpp", f"http://127.0.0.1:{closed_port()}/v1")])
    try:
        table = CompareView(engine)._catalog_markdown()
    finally:
        engine.close()
    assert "| ollama-llava-7b |" in table and "| ollama-qwen3 |" in table
    row = f"| ollama | models found on a local server | `{ollama.v1}` | asked of the server | 2 models found |"
    assert row in table
    assert "| llamacpp |" in table and "no server answers" in table
