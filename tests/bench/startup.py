"""startup_ratio: `python app.py` to its first HTTP 200 (only API models in the catalog) / `python -c "import gradio"`.

Goal ≤ 1.3. Also prints the time with the default catalog, offline models included.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import _common

from arena.web import free_port

API_ONLY = """models:
  - {name: mistral-medium, kind: mistral-chat, model: mistral-medium-latest}
  - {name: gpt-4o, kind: openai-chat, model: gpt-4o}
  - {name: gpt-image-1, kind: openai-image, model: gpt-image-1}
"""


def time_import_gradio() -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", "import gradio"], check=True)
    return time.monotonic() - started


def time_app(catalog: str | None, data_dir: str) -> float:
    port = free_port("127.0.0.1")
    args = [sys.executable, "app.py", "--port", str(port)] + (["--catalog", catalog] if catalog else [])
    env = {**os.environ, "ARENA_DATA_DIR": data_dir, "MISTRAL_API_KEY": "bench", "OPENAI_API_KEY": "bench"}
    started = time.monotonic()
    process = subprocess.Popen(args, cwd=_common.ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.monotonic() - started < 120:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as response:
                    if response.status == 200:
                        return time.monotonic() - started
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("the app did not answer within 120 s")
    finally:
        process.terminate()
        process.wait(10)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        catalog = Path(folder) / "api.yaml"
        catalog.write_text(API_ONLY)
        imports, apps, offline = [], [], []
        for round_number in range(3):
            imports.append(time_import_gradio())
            apps.append(time_app(str(catalog), folder))
            offline.append(time_app(None, folder))
            print(f"round {round_number + 1}: import gradio {imports[-1]:.2f} s, app (API models) "
                  f"{apps[-1]:.2f} s, app (default catalog with offline models) {offline[-1]:.2f} s")
    gradio_s, app_s, offline_s = (statistics.median(v) for v in (imports, apps, offline))
    print(f"median: import gradio {gradio_s:.2f} s, app with API models {app_s:.2f} s, "
          f"app with the default catalog {offline_s:.2f} s (ratio {offline_s / gradio_s:.2f})")
    print(f"startup_ratio: {app_s / gradio_s:.3f}")


if __name__ == "__main__":
    main()
