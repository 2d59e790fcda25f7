"""stream_cpu_pct and stream_wall_ratio: the Compare view in Chromium, 12 panes each streaming 500 tokens at
50 tokens/s from a loopback OpenAI-compatible server (in a process of its own).

stream_cpu_pct: the app process's CPU time over the wall time, in percent of one core (goal ≤ 25).
stream_wall_ratio: the wall time from Run to the last pane done in the page, over the ideal 10 s (goal ≤ 1.05).
stream_server_ratio: the same-run baseline: the same 12 streams read straight from the server, no app and no browser,
over the same 10 s (the loopback server sleeps 20 ms after each chunk it writes, so it alone runs past 10 s).
The app runs in a child process so that neither the browser driver nor the loopback server is counted.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import _common  # noqa: F401
import psutil
from playwright.sync_api import sync_playwright

from tests.apprunner import write_catalog
from tests.browser import launch
from tests.loopback import LoopbackProcess

KEY = "bench-key-loopback"
PANES = 12
TOKENS = 500
GAP_MS = 20  # 50 tokens a second
IDEAL_S = TOKENS * GAP_MS / 1000
PROFILE = os.environ.get("STREAM_CPU_PROFILE")  # a path: py-spy samples the app during run 2 (raw stacks)

APP = (
    "import sys\n"
    "from tests.apprunner import running_app\n"
    "with running_app(sys.argv[1]) as (url, engine):\n"
    "    print('APP', url, flush=True)\n"
    "    sys.stdin.read()\n"
)


def run_once(page, run: int) -> float:
    """Start the 12 panes; return the seconds from the click to the last pane done in the page."""
    old = page.locator(".arena-saved").all_inner_texts()
    run_button = page.locator("#arena-run")
    # After a run the page has scrolled (smoothly) to the results: Playwright's click would first scroll back and
    # wait for the button to be still (about a second, counted as the app's before).
    run_button.scroll_into_view_if_needed()
    run_button.hover()
    started = time.monotonic()
    run_button.click()
    page.wait_for_function("() => document.querySelectorAll('.arena-pane-foot[data-status=running], "
                           ".arena-pane-foot[data-status=queued]').length > 0", timeout=60_000, polling="raf")
    shown = time.monotonic() - started
    page.wait_for_function("() => [...document.querySelectorAll('.arena-text.prose')].some("
                           "(el) => el.innerText.includes('word0'))", timeout=60_000, polling="raf")
    first = time.monotonic() - started
    page.wait_for_function(
        """([old, count]) => {
          const kept = [...document.querySelectorAll('.arena-pane-foot[data-status=done] .arena-saved')];
          return kept.filter((el) => !old.includes(el.innerText)).length === count;
        }""", arg=[old, PANES], timeout=120_000, polling="raf")
    wall = time.monotonic() - started
    metrics = " ".join(page.locator(".arena-pane-foot[data-status=done] .arena-metrics").all_inner_texts())
    totals = [float(t) for t in re.findall(r"total ([\d.]+) s", metrics)]
    firsts = [float(t) for t in re.findall(r"first token ([\d.]+) s", metrics)]
    print(f"run {run + 1}: the panes showed {shown:.2f} s after Run, the first word {first:.2f} s; "
          "the panes' own times (engine): "
          f"first token up to {max(firsts):.2f} s, total up to {max(totals):.2f} s")
    words = page.locator("#arena-pane-11 .arena-text.prose").inner_text().split()
    assert f"word{TOKENS - 1}" in words, words[-3:]
    return wall


def server_alone(v1: str) -> float:
    """The same 12 streams read straight from the server (no app): the seconds until the last one ends."""
    address = urlsplit(v1)

    def read(pane: int) -> None:
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
        body = json.dumps({"model": f"drip{GAP_MS}-words{TOKENS}-pane{pane}", "stream": True,
                           "messages": [{"role": "user", "content": "count to five hundred"}]})
        connection.request("POST", address.path + "/chat/completions", body,
                           {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
        response = connection.getresponse()
        while response.read(65536):
            pass
        connection.close()

    started = time.monotonic()
    with ThreadPoolExecutor(PANES) as pool:
        list(pool.map(read, range(PANES)))
    return time.monotonic() - started


def profiler(pid: int) -> subprocess.Popen:
    """py-spy sampling the app (run 2) into PROFILE as collapsed stacks; its own CPU is not the app's."""
    return subprocess.Popen(["py-spy", "record", "--pid", str(pid), "--format", "raw", "--rate", "200",
                             "--threads", "--gil", "--output", PROFILE],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    os.environ["OPENAI_API_KEY"] = KEY
    with LoopbackProcess(api_key=KEY) as server, tempfile.TemporaryDirectory() as folder:
        os.environ["ARENA_DATA_DIR"] = str(Path(folder) / "data")
        catalog = write_catalog(Path(folder) / "catalog.yaml", [
            {"name": f"drip{i}", "kind": "openai-chat", "model": f"drip{GAP_MS}-words{TOKENS}-pane{i}",
             "base_url": server.v1} for i in range(PANES)])
        app = subprocess.Popen([sys.executable, "-c", APP, str(catalog)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, cwd=_common.ROOT)
        try:
            url = next(line for line in app.stdout if line.startswith("APP ")).split()[1]
            process = psutil.Process(app.pid)
            with sync_playwright() as playwright:
                browser = launch(playwright)
                page = browser.new_page(viewport={"width": 1440, "height": 1000})
                page.goto(url)
                page.wait_for_selector("#arena-models label")
                for label in page.locator("#arena-models label").all():
                    label.click()
                page.fill("#arena-prompt textarea", "count to five hundred")
                results = []
                for run in range(2):  # the first run also warms up: SDK import, clients, connections
                    spy = profiler(app.pid) if run == 1 and PROFILE else None
                    before = process.cpu_times()
                    wall = run_once(page, run)
                    if spy is not None:
                        spy.send_signal(signal.SIGINT)
                        spy.wait(30)
                    after = process.cpu_times()
                    cpu = (after.user - before.user) + (after.system - before.system)
                    results.append((cpu / wall * 100, wall / IDEAL_S))
                    print(f"run {run + 1}: wall {wall:.2f} s, app CPU {cpu:.2f} s "
                          f"({cpu / wall * 100:.0f}% of a core)")
                browser.close()
            alone = server_alone(server.v1)
            print(f"the server alone: {alone:.2f} s for the same 12 streams (no app, no browser)")
        finally:
            app.stdin.close()
            app.terminate()
            app.wait(10)
    cpu_pct, wall_ratio = results[-1]
    print(f"stream_cpu_pct: {cpu_pct:.1f}")
    print(f"stream_wall_ratio: {wall_ratio:.3f}")
    print(f"stream_server_ratio: {alone / IDEAL_S:.3f}")
    print(f"stream_wall_over_server: {wall_ratio * IDEAL_S / alone:.3f}")


if __name__ == "__main__":
    main()
