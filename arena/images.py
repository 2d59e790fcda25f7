"""Images: uploads checked before any model sees them, then normalised the same way for every model; pictures
providers return checked the same way.

Memory: a small file can decode to a large image (a 170 KB PNG is 6320×6320 RGBA, 160 MB), so each image is
decoded once, at the smallest size that still serves (JPEGs with ``draft``, at 1/2, 1/4 or 1/8 scale), then
converted and shrunk with ``reduce`` a band of rows at a time, so that no other full-size copy is made; and at
most DECODES_AT_ONCE images are decoded at a time. A decode holds the decoded image (4 bytes a pixel at most)
and its copy at the sending size: with the MAX_PIXELS cap of 25 megapixels about 125 MB, so the worst case of
every decode at once is about 250 MB, however many requests come: it fits a machine with 1 GB beside the app.
A provider's picture (kept at its size) may take one converted copy more: 200 MB. Only ACCEPTED_FORMATS are
opened: EPS never reaches Ghostscript, nor an upload any of Pillow's rarer decoders.
"""

from __future__ import annotations

import base64
import ctypes
import hashlib
import io
import math
import threading
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from arena.errors import InputError
from arena.settings import MAX_PIXELS, MAX_UPLOAD_BYTES

# Images are sent to models no larger than this on their longest side.
MAX_SIDE = 2048
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP")
FORMAT_NAMES = "PNG, JPEG, WebP, GIF or BMP"
DECODES_AT_ONCE = 2

_decoding = threading.BoundedSemaphore(DECODES_AT_ONCE)
_BAND_PIXELS = 1 << 20  # converted and reduced this many pixels at a time
_ORIENTATION = 0x0112
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# Our own pixel cap is far below Pillow's bomb warning; its errors (twice as far) are still caught.
warnings.simplefilter("ignore", Image.DecompressionBombWarning)


def _return_freed_images_to_the_system() -> None:
    """glibc raises its mmap threshold after the first large block is freed, so that later image buffers come
    from the heap and stay with the process once freed (8 concurrent uploads, five rounds: 9 GB kept). A fixed
    threshold keeps every block of MMAP_THRESHOLD or more (Pillow's are 16 MB) mapped apart, and unmapped on free."""
    try:
        ctypes.CDLL("libc.so.6").mallopt(-3, MMAP_THRESHOLD)  # -3: M_MMAP_THRESHOLD
    except (OSError, AttributeError):  # not glibc: its allocator has its own ways
        pass


MMAP_THRESHOLD = 1024 * 1024
_return_freed_images_to_the_system()


@dataclass(frozen=True, eq=False)
class InputImage:
    """An upright RGB image, at most MAX_SIDE on its longest side."""

    image: Image.Image

    @cached_property
    def png(self) -> bytes:
        buffer = io.BytesIO()
        self.image.save(buffer, format="PNG")
        return buffer.getvalue()

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.png).hexdigest()

    def data_url(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def load_image(
    source: bytes | str | Path, *, max_bytes: int = MAX_UPLOAD_BYTES, max_pixels: int = MAX_PIXELS
) -> InputImage:
    """Read, check and normalise an uploaded image, or raise InputError saying what is wrong with it."""
    data = _read(source, max_bytes)
    with _decoding:
        image = _decode(data, max_pixels, fit=MAX_SIDE)
    return InputImage(image)


def decode_picture(data: bytes, source: str, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """A picture a provider returned, at its own size (RGB or RGBA): the same formats and pixel cap as uploads;
    anything else (SVG, HTML, a 144-megapixel bomb) is refused with ValueError."""
    try:
        with _decoding:
            image = _decode(data, max_pixels, fit=None)
    except InputError as error:
        raise ValueError(f"{source} returned a picture Arena does not accept: {error}") from None
    return image if image.mode in ("RGB", "RGBA") else image.convert("RGB")


def _read(source: bytes | str | Path, max_bytes: int) -> bytes:
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:
            size = path.stat().st_size
        except OSError:
            raise InputError("The uploaded file could not be read.") from None
        if size > max_bytes:
            raise InputError(f"The image is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB.")
        data = path.read_bytes()
    else:
        data = bytes(source)
        if len(data) > max_bytes:
            raise InputError(f"The image is {len(data) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB.")
    if not data:
        raise InputError("The uploaded file is empty.")
    return data


def _decode(data: bytes, max_pixels: int, fit: int | None) -> Image.Image:
    """The first frame, decoded once, upright; with ``fit``, in RGB and no larger than that on its longest side."""
    try:
        opened = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
        if fit and opened.format in ("JPEG", "MPO") and max(opened.size) > fit:
            scale = fit / max(opened.size)
            opened.draft(None, (math.ceil(opened.width * scale), math.ceil(opened.height * scale)))
        width, height = opened.size
        if width * height > max_pixels:
            raise InputError(f"The image is {width}×{height} ({width * height / 1e6:.0f} megapixels); "
                             f"the limit is {max_pixels / 1e6:.0f} megapixels.")
        orientation = opened.getexif().get(_ORIENTATION, 1)
        opened.load()
        image = _reduced(opened, fit) if fit else opened
        del opened  # the full-size decode goes as soon as the reduced copy exists
        if orientation in _TRANSPOSE:
            image = image.transpose(_TRANSPOSE[orientation])
        if fit and max(image.size) > fit:
            image.thumbnail((fit, fit), Image.Resampling.LANCZOS)
        return image
    except InputError:
        raise
    except Image.DecompressionBombError:
        raise InputError(f"The image has too many pixels; the limit is {max_pixels / 1e6:.0f} megapixels.") from None
    except UnidentifiedImageError:
        raise InputError(f"The uploaded file is not an image Arena can read ({FORMAT_NAMES}).") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise InputError(f"The image is damaged or truncated ({error}).") from None


def _reduced(image: Image.Image, fit: int) -> Image.Image:
    """An RGB copy (transparent parts white), shrunk by a whole factor to no less than ``fit`` on its longest side.

    Made a band of rows at a time: converting or reducing the whole image at once would make full-size copies
    (Pillow's reduce of RGBA goes through a premultiplied copy)."""
    factor = max(1, max(image.size) // fit)
    if factor == 1 and image.mode == "RGB":
        return image
    width, height = image.size
    reduced = Image.new("RGB", (width // factor, height // factor))
    rows = factor * max(1, _BAND_PIXELS // (width * factor))
    for top in range(0, reduced.height * factor, rows):
        band = _to_rgb(image.crop((0, top, reduced.width * factor, min(top + rows, reduced.height * factor))))
        reduced.paste(band.reduce(factor) if factor > 1 else band, (0, top // factor))
    return reduced


def _transparent(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def _to_rgb(image: Image.Image) -> Image.Image:
    """Transparent parts become white, as most viewers show them."""
    if image.mode == "RGB":
        return image
    if _transparent(image):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")
