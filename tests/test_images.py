"""Uploaded images are checked and normalised before any model sees them."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from arena.errors import InputError
from arena.images import MAX_SIDE, load_image


def encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def test_a_plain_png_passes_unchanged():
    image = Image.new("RGB", (30, 20), (1, 2, 3))
    loaded = load_image(encode(image))
    assert loaded.image.size == (30, 20) and loaded.image.getpixel((0, 0)) == (1, 2, 3)
    assert loaded.data_url().startswith("data:image/png;base64,")
    assert len(loaded.sha256) == 64


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (40, 20), "red")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to view
    loaded = load_image(encode(image, "JPEG", exif=exif.tobytes()))
    assert loaded.image.size == (20, 40)


def test_transparency_becomes_white_rgb():
    image = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    loaded = load_image(encode(image))
    assert loaded.image.mode == "RGB" and loaded.image.getpixel((0, 0)) == (255, 255, 255)


def test_an_animation_gives_its_first_frame():
    frames = [Image.new("RGB", (8, 8), colour) for colour in ("red", "blue", "green")]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    assert load_image(data).image.getpixel((0, 0)) == (255, 0, 0)


def test_large_images_are_scaled_to_the_sending_size():
    loaded = load_image(encode(Image.new("RGB", (MAX_SIDE * 2, 100))))
    assert max(loaded.image.size) == MAX_SIDE


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"hello, I am a text file", "not an image"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "not an image"),
    (encode(Image.new("RGB", (64, 64), "red"))[:120], "damaged or truncated"),
])
def test_unreadable_uploads_get_a_clear_message(data, message):
    with pytest.raises(InputError, match=message):
        load_image(data)


def test_pixel_cap_and_decompression_bombs_are_refused_before_decoding():
    bomb = encode(Image.new("1", (12_000, 12_000)))  # 144 MP, a few kB of PNG
    assert len(bomb) < 100_000
    with pytest.raises(InputError, match="megapixels"):
        load_image(bomb)
    with pytest.raises(InputError, match="the limit is 1 megapixels"):
        load_image(encode(Image.new("RGB", (1200, 1000))), max_pixels=1_000_000)


def test_upload_size_cap(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(encode(Image.new("RGB", (50, 50))))
    with pytest.raises(InputError, match="the limit is 0 MB"):
        load_image(path, max_bytes=10)
    with pytest.raises(InputError, match="could not be read"):
        load_image(tmp_path / "missing.png")
