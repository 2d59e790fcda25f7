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
