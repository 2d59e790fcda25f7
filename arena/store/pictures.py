"""Pictures the gallery keeps: PNGs that carry their record, thumbnails, and cards for text answers."""

from __future__ import annotations

import io
import json
import textwrap
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

RECORD_KEY = "arena-record"
THUMB_SIDE = 256


def png_with_record(image: Image.Image, record: dict) -> bytes:
    """The image as PNG with ``record`` (JSON) in an iTXt chunk, so the file alone tells how it was made."""
    info = PngImagePlugin.PngInfo()
    info.add_itxt(RECORD_KEY, json.dumps(record, sort_keys=True, ensure_ascii=False), zip=True)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def read_record(path: Path | str) -> dict | None:
    """The record a PNG carries, or None if it has none."""
    with Image.open(path) as image:
        text = image.text.get(RECORD_KEY) if hasattr(image, "text") else None
    return json.loads(text) if text else None


def thumbnail(image: Image.Image) -> bytes:
    """A WebP no larger than THUMB_SIDE on its longest side (a few kB to a few tens of kB)."""
    small = image.convert("RGB")
    small.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    small.save(buffer, format="WEBP", quality=80, method=0)
    return buffer.getvalue()


_CARD_COLOURS = {"error": ((254, 242, 242), (153, 27, 27)), "cancelled": ((255, 251, 235), (146, 64, 14))}


@cache
def _font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def text_card(model: str, text: str, status: str) -> Image.Image:
    """A thumbnail-sized card showing the start of a text answer (or the error), for the gallery grid."""
    background, ink = _CARD_COLOURS.get(status, ((248, 250, 252), (30, 41, 59)))
    card = Image.new("RGB", (THUMB_SIDE, THUMB_SIDE), background)
    draw = ImageDraw.Draw(card)
    draw.text((12, 10), model[:28], font=_font(16), fill=ink)
    draw.line((12, 34, THUMB_SIDE - 12, 34), fill=ink, width=1)
    body = " ".join(text.split())[:400] or "(empty)"
    lines = textwrap.wrap(body, width=32)[:11]
    draw.multiline_text((12, 42), "\n".join(lines), font=_font(13), fill=ink, spacing=4)
    return card
