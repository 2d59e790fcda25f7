"""The example images are drawn by the repo's own script, and the compare view offers them."""

from __future__ import annotations

import subprocess
import sys

from PIL import Image

from arena.ui.compare import ASSETS, EXAMPLES
from tests.conftest import ROOT


def test_the_script_draws_every_asset_the_examples_use(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "assets" / "make_assets.py"), str(tmp_path)], check=True,
                   capture_output=True)
    drawn = {p.name for p in tmp_path.glob("*.png")}
    assert drawn == {"website-sketch.png", "captcha.png", "scene.png", "scene-flipped.png", "scene-rotated.png"}
    for name in drawn:
        fresh, committed = Image.open(tmp_path / name), Image.open(ASSETS / name)
        assert fresh.size == committed.size and fresh.mode == committed.mode == "RGB"
    used = {image for _, image in EXAMPLES if image}
    assert used <= drawn
    assert EXAMPLES[0] == ("a charming spider at work", None)
