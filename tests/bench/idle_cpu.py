"""idle_cpu_pct: the CPU an app nobody is using takes (`python app.py` on the default catalog, no browser open),
in percent of one core over 10 s once it serves. Gradio's queue alone, left at its own 1 ms poll, takes ~5%.

Run: python tests/bench/idle_cpu.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request

from _common import ROOT

from arena.web import free_port


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    port = free_port("127.0.0.1")
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "ARENA_DATA_DIR": folder, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
        app = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).close()
                    break
                except OSError:
                    if app.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit("the app did not start") from None
                    time.sleep(0.2)
            time.sleep(3)  # the start-up's own work (the store's clean-up, caches) is over
            before = cpu_seconds(app.pid)
            time.sleep(10)
            print(f"idle_cpu_pct: {(cpu_seconds(app.pid) - before) / 10 * 100:.1f}")
        finally:
            app.terminate()
            app.wait(30)


if __name__ == "__main__":
    main()
