"""Draw the input images the examples and prompt suites use: ``python assets/make_assets.py [FOLDER]``.

Everything is drawn here with Pillow from a fixed seed, so the files are ours and the same on every machine.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

HERE = Path(__file__).resolve().parent
INK = (40, 40, 48)
PAPER = (250, 248, 240)


def font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def wobbly_line(draw: ImageDraw.ImageDraw, start, end, rng: random.Random, width: int = 3) -> None:
    """A pen stroke: the straight line, bent a little at a few points."""
    (x0, y0), (x1, y1) = start, end
    steps = max(2, int(math.hypot(x1 - x0, y1 - y0) // 40))
    points = []
    for i in range(steps + 1):
        t = i / steps
        jitter = 0 if i in (0, steps) else 2.5
        points.append((x0 + (x1 - x0) * t + rng.uniform(-jitter, jitter),
                       y0 + (y1 - y0) * t + rng.uniform(-jitter, jitter)))
    draw.line(points, fill=INK, width=width, joint="curve")


def wobbly_box(draw, box, rng, width: int = 3) -> None:
    x0, y0, x1, y1 = box
    for start, end in (((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)), ((x1, y1), (x0, y1)), ((x0, y1), (x0, y0))):
        wobbly_line(draw, start, end, rng, width)


def website_sketch() -> Image.Image:
    """A hand-drawn wireframe: header with logo and menu, a hero picture, three cards, a footer."""
    rng = random.Random(7)
    image = Image.new("RGB", (900, 700), PAPER)
    draw = ImageDraw.Draw(image)
    wobbly_box(draw, (30, 30, 870, 670), rng, 4)
    wobbly_box(draw, (60, 55, 840, 135), rng)
    draw.text((85, 75), "Spider Studio", font=font(34), fill=INK)
    for i, item in enumerate(["Home", "Webs", "Contact"]):
        draw.text((520 + i * 105, 85), item, font=font(24), fill=INK)
        wobbly_line(draw, (518 + i * 105, 115), (590 + i * 105, 115), rng, 2)
    wobbly_box(draw, (60, 160, 540, 400), rng)
    wobbly_line(draw, (60, 160), (540, 400), rng, 2)
    wobbly_line(draw, (540, 160), (60, 400), rng, 2)
    draw.text((570, 180), "We weave", font=font(36), fill=INK)
    draw.text((570, 225), "charming webs.", font=font(36), fill=INK)
    wobbly_box(draw, (575, 320, 760, 380), rng)
    draw.text((605, 335), "Order now", font=font(26), fill=INK)
    for i in range(3):
        left = 60 + i * 265
        wobbly_box(draw, (left, 430, left + 245, 590), rng)
        draw.text((left + 20, 445), f"Card {i + 1}", font=font(26), fill=INK)
        for row in range(3):
            wobbly_line(draw, (left + 20, 495 + row * 28), (left + 215 - row * 30, 495 + row * 28), rng, 2)
    wobbly_line(draw, (60, 620), (840, 620), rng, 2)
    draw.text((360, 630), "footer · © 2026", font=font(22), fill=INK)
    return image


def captcha(word: str = "weaver") -> Image.Image:
    """A distorted word on a noisy background, like the tests that ask whether a model can read it."""
    rng = random.Random(11)
    width, height = 420, 140
    canvas = Image.new("RGB", (width, height), (236, 236, 228))
    draw = ImageDraw.Draw(canvas)
    for _ in range(900):
        x, y = rng.randrange(width), rng.randrange(height)
        draw.point((x, y), fill=tuple(rng.randrange(120, 220) for _ in range(3)))
    x = 30
    for letter in word:
        glyph = Image.new("RGBA", (90, 110), (0, 0, 0, 0))
        colour = (rng.randrange(20, 90), 30, rng.randrange(60, 140), 255)
        ImageDraw.Draw(glyph).text((15, 5), letter, font=font(78), fill=colour)
        glyph = glyph.rotate(rng.uniform(-28, 28), resample=Image.Resampling.BICUBIC, expand=False)
        canvas.paste(glyph, (x, rng.randrange(5, 30)), glyph)
        x += rng.randrange(52, 62)
    for _ in range(4):
        base, amplitude = rng.uniform(30, height - 30), rng.uniform(8, 25)
        period, phase = rng.uniform(40, 90), rng.uniform(0, math.tau)
        points = [(px, base + amplitude * math.sin(px / period + phase)) for px in range(0, width + 4, 4)]
        draw.line(points, fill=(70, 70, 90), width=2)
    # A gentle wave bends the whole picture.
    waved = Image.new("RGB", (width, height))
    for column in range(width):
        shift = int(6 * math.sin(column / 23))
        strip = canvas.crop((column, 0, column + 1, height))
        waved.paste(strip, (column, shift))
    return waved.filter(ImageFilter.SMOOTH)


def scene() -> Image.Image:
    """A simple scene to describe: a house, a tree, the sun, and a spider in its web."""
    image = Image.new("RGB", (800, 560), (152, 205, 245))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 400, 800, 560), fill=(104, 178, 86))
    draw.ellipse((620, 40, 730, 150), fill=(255, 214, 64))
    for angle in range(0, 360, 30):
        a = math.radians(angle)
        draw.line((675 + 70 * math.cos(a), 95 + 70 * math.sin(a), 675 + 95 * math.cos(a), 95 + 95 * math.sin(a)),
                  fill=(255, 190, 40), width=5)
    draw.rectangle((180, 260, 420, 430), fill=(236, 220, 190), outline=INK, width=3)
    draw.polygon([(160, 265), (300, 150), (440, 265)], fill=(196, 52, 44), outline=INK)
    draw.rectangle((280, 340, 330, 430), fill=(120, 78, 48), outline=INK, width=3)
    for left in (205, 350):
        draw.rectangle((left, 290, left + 50, 330), fill=(190, 225, 250), outline=INK, width=3)
    draw.rectangle((560, 300, 590, 440), fill=(110, 76, 44))
    draw.ellipse((500, 190, 650, 330), fill=(46, 130, 60))
    # The web hangs between the roof and the tree, with its spider.
    centre = (500, 200)
    for angle in range(0, 360, 40):
        a = math.radians(angle)
        end = (centre[0] + 60 * math.cos(a), centre[1] + 60 * math.sin(a))
        draw.line((*centre, *end), fill=(250, 250, 250), width=1)
    for radius in (15, 30, 45, 60):
        draw.polygon([(centre[0] + radius * math.cos(math.radians(a)), centre[1] + radius * math.sin(math.radians(a)))
                      for a in range(0, 360, 40)], outline=(250, 250, 250))
    draw.ellipse((centre[0] - 8, centre[1] - 6, centre[0] + 8, centre[1] + 10), fill=(20, 20, 20))
    for side in (-1, 1):
        for k in range(4):
            y = centre[1] - 3 + k * 4
            draw.line((centre[0] + side * 6, y, centre[0] + side * 16, y - 6 + k * 3, centre[0] + side * 20, y + 4),
                      fill=(20, 20, 20), width=2)
    return image


ASSETS = {
    "website-sketch.png": website_sketch,
    "captcha.png": captcha,
    "scene.png": scene,
    # The same scene turned: do models still recognise it?
    "scene-flipped.png": lambda: scene().transpose(Image.Transpose.FLIP_TOP_BOTTOM),
    "scene-rotated.png": lambda: scene().transpose(Image.Transpose.ROTATE_90),
}


def main(folder: Path = HERE) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, draw in ASSETS.items():
        draw().save(folder / name, optimize=True)
        print(folder / name)


if __name__ == "__main__":
    import sys

    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
