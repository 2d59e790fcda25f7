"""What the browser tests share: Debian's chromium, the flags it runs with, and a skip where it is missing."""

from __future__ import annotations

import shutil

import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

needs_chromium = pytest.mark.skipif(not shutil.which(CHROMIUM), reason="Debian's chromium is not installed")


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)


def open_panel(page, opener: str, inside: str) -> None:
    """Open a closed accordion and wait until what it holds can be typed into.

    Gradio mounts a closed accordion's fields when it opens and, one animation frame later, sets their starting
    values again; a value typed in between is lost. A person cannot type that fast; a test can.
    """
    page.locator(opener).first.click()
    page.locator(inside).first.wait_for(state="visible")
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
