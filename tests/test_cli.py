"""python -m arena: models and compare, the same engine as the web app."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from PIL import Image

from arena.store.pictures import read_record
from tests.apprunner import write_catalog
from tests.conftest import LOOPBACK_KEY, OFFLINE_ENTRIES, ROOT, openai_entry
from tests.helpers import arena


def test_models_lists_every_entry_with_its_availability(tmp_path, loopback):
    catalog = write_catalog(tmp_path / "c.yaml", OFFLINE_ENTRIES + [
        openai_entry(loopback, "echo"),
        {"name": "ollama", "kind": "openai-chat", "model": "llama3.2-vision", "base_url": "http://127.0.0.1:9/v1",
         "api_key_env": None},
    ])
    result = arena("--catalog", str(catalog), "models", env_extra={"OPENAI_API_KEY": ""})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 5
    assert lines[0].split()[:3] == ["offline-pixtral", "transformers", "available"]
    assert "unavailable: OPENAI_API_KEY is not set" in lines[3]
    assert "unavailable: no server answers at http://127.0.0.1:9/v1" in lines[4]


def test_compare_writes_each_output_and_fails_when_a_model_fails(tmp_path, loopback):
    catalog = write_catalog(tmp_path / "c.yaml", OFFLINE_ENTRIES + [
        openai_entry(loopback, "echo"), openai_entry(loopback, "broken", model="fail401"),
    ])
    image = tmp_path / "in.png"
    Image.new("RGB", (20, 20), "blue").save(image)
    out = tmp_path / "out"
    result = arena("compare", "a charming spider at work", "--image", str(image), "--models",
                   "offline-pixtral,offline-sd,echo,broken", "--out", str(out), "--seed", "5",
                   env_extra={"ARENA_CATALOG": str(catalog), "OPENAI_API_KEY": LOOPBACK_KEY})
    assert result.returncode == 1, result.stderr
    lines = dict(line.split(None, 1) for line in result.stdout.splitlines())
    assert lines["offline-pixtral"].startswith("done")
    assert lines["offline-sd"].startswith("done") and "3/3 steps" in lines["offline-sd"]
    assert lines["echo"].startswith("done")
    assert lines["broken"].startswith("error") and "API key was rejected" in lines["broken"]
    assert (out / "echo.md").read_text().startswith("Hello from echo. I got an image.")
    assert Image.open(out / "offline-sd.png").size == (64, 64)
    assert read_record(out / "offline-sd.png")["used"]["seed"] == 5  # the file alone says how it was made
    assert (out / "offline-pixtral.md").read_text().strip()
    assert "error: the API key was rejected" in (out / "broken.md").read_text()
    assert "[echo] done" in result.stderr  # progress as it happens
    assert LOOPBACK_KEY not in result.stdout + result.stderr


def test_compare_succeeds_with_exit_zero(tmp_path, loopback):
    catalog = write_catalog(tmp_path / "c.yaml", [openai_entry(loopback, "echo")])
    result = arena("--catalog", str(catalog), "compare", "hi", "--models", "echo",
                   env_extra={"OPENAI_API_KEY": LOOPBACK_KEY})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("echo  done")


def test_bad_input_exits_2_with_a_message(tmp_path, loopback):
    catalog = write_catalog(tmp_path / "c.yaml", [openai_entry(loopback, "echo")])
    not_image = tmp_path / "notes.png"
    not_image.write_text("not a picture")
    cases = [
        (["compare", "", "--models", "echo"], "Type a prompt first."),
        (["compare", "hi", "--models", "nope"], "Unknown model: nope"),
        (["compare", "hi", "--models", "echo", "--image", str(not_image)], "not an image"),
        (["compare", "hi", "--models", "echo", "--image", str(tmp_path / "missing.png")], "No image file"),
        (["compare", "hi", "--models", "echo", "--size", "big"], "--size must look like 512x512"),
        (["compare", "hi", "--models", "echo", "--temperature", "9"], "--temperature must be at most 2, not 9."),
    ]
    for args, message in cases:
        result = arena("--catalog", str(catalog), *args)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("models:\n  - {name: a, kind: nope, model: x}\n")
    result = arena("--catalog", str(broken), "models")
    assert result.returncode == 2 and "model a: kind" in result.stderr


def test_keys_can_come_from_a_dotenv_file_in_the_data_folder(tmp_path, loopback):
    catalog = write_catalog(tmp_path / "c.yaml", [openai_entry(loopback, "echo")])
    data = tmp_path / "data"
    data.mkdir()
    (data / ".env").write_text(f"OPENAI_API_KEY={LOOPBACK_KEY}\n")
    clean = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    result = subprocess.run([sys.executable, "-m", "arena", "--catalog", str(catalog), "compare", "hi", "--models",
                             "echo"], capture_output=True, text=True, cwd=ROOT, timeout=120,
                            env={**clean, "ARENA_DATA_DIR": str(data)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert LOOPBACK_KEY not in result.stdout + result.stderr


def test_gallery_list_show_export_and_inspect(tmp_path, loopback):
    catalog = write_catalog(tmp_path / "c.yaml", OFFLINE_ENTRIES + [openai_entry(loopback, "echo")])
    env = {"ARENA_CATALOG": str(catalog), "OPENAI_API_KEY": LOOPBACK_KEY, "ARENA_DATA_DIR": str(tmp_path / "data")}
    assert arena("compare", "a charming spider at work", "--models", "offline-sd,echo", "--seed", "9",
                 env_extra=env).returncode == 0
    assert arena("compare", "<b>bold</b> cat", "--models", "echo", env_extra=env).returncode == 0
    assert arena("compare", "not kept", "--models", "echo", "--no-save", env_extra=env).returncode == 0

    listed = arena("gallery", "list", env_extra=env)
    assert listed.returncode == 0 and "3 of 3 outputs" in listed.stderr
    rows = listed.stdout.splitlines()
    assert len(rows) == 3 and "echo" in rows[0] and "<b>bold</b> cat" in rows[0]
    only_images = arena("gallery", "list", "--kind", "image", env_extra=env)
    [image_row] = only_images.stdout.splitlines()
    image_id = image_row.split()[0]
    assert arena("gallery", "list", "--search", "spider", env_extra=env).stdout.count("\n") == 2
    assert arena("gallery", "list", "--model", "offline-sd", env_extra=env).stdout.count("\n") == 1

    shown = arena("gallery", "show", image_id, env_extra=env)
    record = json.loads(shown.stdout)
    assert record["model"] == "offline-sd" and record["used"]["seed"] == 9
    picture = tmp_path / "data" / "images" / record["images"][0][:2] / f"{record['images'][0]}.png"
    inspected = arena("gallery", "inspect", str(picture), env_extra=env)
    assert json.loads(inspected.stdout)["used"]["seed"] == 9
    plain = tmp_path / "plain.png"
    Image.new("RGB", (4, 4)).save(plain)
    assert arena("gallery", "inspect", str(plain), env_extra=env).returncode == 1

    exported = arena("gallery", "export", "--comparison", record["comparison_id"], "--format", "html",
                     "--out", str(tmp_path / "page"), env_extra=env)
    assert exported.returncode == 0 and "2 outputs" in exported.stdout
    assert (tmp_path / "page" / "index.html").read_text().count('class="card"') == 2
    sheet = arena("gallery", "export", "--format", "sheet", "--out", str(tmp_path / "sheet.png"), env_extra=env)
    assert sheet.returncode == 0 and Image.open(tmp_path / "sheet.png").size[1] == 2 * (256 + 40)
    assert arena("gallery", "show", "nope", env_extra=env).returncode == 2
    assert arena("gallery", "list", "--since", "yesterday", env_extra=env).returncode == 2
    empty = arena("gallery", "export", "--model", "nobody", "--out", str(tmp_path / "x"), env_extra=env)
    assert empty.returncode == 2 and "nothing to export" in empty.stderr


def test_the_global_options_may_follow_the_command(tmp_path, loopback):
    catalog = write_catalog(tmp_path / "c.yaml", [openai_entry(loopback, "echo")])
    before = arena("--catalog", str(catalog), "models")
    after = arena("models", "--catalog", str(catalog))
    assert before.returncode == after.returncode == 0 and before.stdout == after.stdout
    assert after.stdout.startswith("echo ")
    listed = arena("gallery", "list", "--data-dir", str(tmp_path / "d"))
    assert listed.returncode == 0 and (tmp_path / "d").is_dir()  # the data folder given after the command
    assert arena("--data-dir", str(tmp_path / "x"), "gallery", "list", "--data-dir", str(tmp_path / "y")
                 ).returncode == 0 and (tmp_path / "y").is_dir()  # given twice: the later one wins
