"""Issue 10, hole 5: small files that decode to huge images cannot make the app's memory balloon.

The app runs in a process of its own; eight clients at once upload, through /compare, a ~100 KB PNG that
decodes to 5000×5000 RGBA (25 megapixels, the cap: 100 MB decoded), three rounds in a row. Its peak resident
memory may grow by at most PEAK_GROWTH over what it held before (decodes are bounded: at most
images.DECODES_AT_ONCE at a time), and after each round it returns to within SETTLED_GROWTH of where it started.
The 6320×6320 one (40 megapixels, 170 KB) is refused from its header, before any decoding.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from arena import images
from tests.apprunner import write_catalog
from tests.conftest import LOOPBACK_KEY, ROOT, openai_entry

MB = 1024 * 1024
PEAK_GROWTH = 400 * MB
SETTLED_GROWTH = 150 * MB
CLIENTS = 8

APP = r"""
import sys
from pathlib import Path
import psutil
from tests.apprunner import running_app

with running_app(Path(sys.argv[1])) as (url, engine):
    print("URL", url, flush=True)
    me = psutil.Process()
    for line in sys.stdin:
        if line.strip() == "reset":  # the peak so far (start-up included) is forgotten: VmHWM starts again
            Path("/proc/self/clear_refs").write_text("5")
        peak = next(int(row.split()[1]) * 1024 for row in Path("/proc/self/status").read_text().splitlines()
                    if row.startswith("VmHWM:"))
        print("MEMORY", me.memory_info().rss, peak, flush=True)
"""


def uniform_png(side: int) -> bytes:
    """A mostly uniform RGBA picture: a few hundred KB of PNG for hundreds of MB of pixels."""
    picture = Image.new("RGBA", (side, side), (10, 200, 30, 255))
    picture.putpixel((side // 2, side // 2), (200, 10, 30, 128))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", compress_level=9)
    return buffer.getvalue()


def _app_env() -> dict:
    """Only what the app needs: what earlier tests left in this process's environment stays out of the measure."""
    keep = ("PATH", "HOME", "OPENAI_API_KEY", "ARENA_DATA_DIR", "HF_HUB_OFFLINE", "HF_HUB_DISABLE_TELEMETRY",
            "GRADIO_ANALYTICS_ENABLED")
    return {k: os.environ[k] for k in keep if k in os.environ}


class AppProcess:
    def __init__(self, catalog):
        self.process = subprocess.Popen([sys.executable, "-c", APP, str(catalog)], cwd=ROOT, env=_app_env(),
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        [self.url] = self._answer("URL")

    def _answer(self, tag: str) -> list[str]:
        """The next line the app prints for us (Gradio prints its own lines too)."""
        for line in self.process.stdout:
            if line.startswith(tag + " "):
                return line.split()[1:]
        raise AssertionError("the app ended before answering")

    def memory(self, reset_peak: bool = False) -> tuple[int, int]:
        """(resident now, peak resident since the last reset), in bytes."""
        self.process.stdin.write("reset\n" if reset_peak else "\n")
        self.process.stdin.flush()
        now, peak = self._answer("MEMORY")
        return int(now), int(peak)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(30)


@pytest.mark.timeout(300)
def test_concurrent_amplifying_uploads_keep_the_app_within_a_memory_bound(tmp_path, loopback, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", LOOPBACK_KEY)
    catalog = write_catalog(tmp_path / "catalog.yaml", [openai_entry(loopback, "lb-echo", model="echo")])
    accepted = tmp_path / "accepted.png"
    accepted.write_bytes(uniform_png(5000))
    amplifier = tmp_path / "amplifier.png"
    amplifier.write_bytes(uniform_png(6320))
    assert amplifier.stat().st_size < 400_000 and accepted.stat().st_size < 400_000
    small = tmp_path / "small.png"
    Image.new("RGB", (64, 64), "red").save(small)

    app = AppProcess(catalog)
    try:
        client = Client(app.url, verbose=False)

        def send(path):
            return client.predict(prompt="what is this?", models=["lb-echo"], image=handle_file(str(path)),
                                  api_name="/compare")

        assert send(small)["panes"][0]["status"] == "done"  # everything imported and warmed up
        start, _ = app.memory(reset_peak=True)
        with ThreadPoolExecutor(CLIENTS) as pool:
            for _ in range(3):
                results = list(pool.map(send, [accepted] * CLIENTS))
                assert all(r["panes"][0]["text"].startswith("Hello from echo. I got an image.") for r in results)
                now, peak = app.memory()
                assert peak - start < PEAK_GROWTH, f"peak grew by {(peak - start) / MB:.0f} MB"
                assert now - start < SETTLED_GROWTH, f"still {(now - start) / MB:.0f} MB above the start"

            def refused(path) -> str:
                with pytest.raises(AppError) as error:
                    send(path)
                return str(error.value)

            assert all("the limit is 25 megapixels" in m for m in pool.map(refused, [amplifier] * CLIENTS))
        now, peak_after = app.memory()
        assert peak_after - start < PEAK_GROWTH and now - start < SETTLED_GROWTH
        print(f"image memory: start {start / MB:.0f} MB, peak {peak_after / MB:.0f} MB, end {now / MB:.0f} MB")
    finally:
        app.close()


def test_a_picture_a_provider_returns_gets_the_same_checks():
    bomb = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(bomb, format="PNG")  # 144 megapixels in a few kB
    with pytest.raises(ValueError, match="the server returned a picture Arena does not accept.*megapixels"):
        images.decode_picture(bomb.getvalue(), "the server")
    assert images.decode_picture(uniform_png(64), "the server").size == (64, 64)


def test_only_accepted_formats_are_opened(monkeypatch):
    """An EPS file is refused before Pillow's EPS plugin (which runs Ghostscript) ever sees it."""
    from PIL import EpsImagePlugin

    def never(*args, **kwargs):
        raise AssertionError("the EPS plugin was asked to open an upload")

    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", never)
    eps = (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n"
           b"newpath 0 0 moveto 10 10 lineto stroke\nshowpage\n%%EOF\n")
    with pytest.raises(images.InputError, match="not an image Arena can read"):
        images.load_image(eps)
    tiff = io.BytesIO()
    Image.new("RGB", (8, 8)).save(tiff, format="TIFF")
    with pytest.raises(images.InputError, match="not an image Arena can read"):
        images.load_image(tiff.getvalue())


def test_a_large_jpeg_is_decoded_small_and_upright():
    photo = Image.new("RGB", (8000, 3000), (90, 120, 200))
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", exif=exif.tobytes(), quality=70)
    loaded = images.load_image(buffer.getvalue())
    assert loaded.image.size == (768, 2048)  # turned upright, then fitted to the sending size
