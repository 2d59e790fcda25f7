"""A sweep's outputs as one labelled grid: a PNG (Automatic1111's X/Y/Z plot) and a self-contained HTML page.

Columns are the X axis's values; rows are the Y axis's values × the models (with no Y axis, one row per model);
a Z axis gives one block per value, stacked under a band that names it. Every cell is captioned with the seed it
used and with the axes that do not apply to its model ("steps n/a"). Text answers are drawn as the gallery's text
cards. The page and its tables are templates (arena/templates/sweep_grid.html.j2, sweep_tables.html.j2).
"""

from __future__ import annotations

import base64
import io
import textwrap
from dataclasses import dataclass
from typing import Callable

from PIL import Image, ImageDraw, ImageFont

from arena.pane import PaneSnapshot
from arena.store.pictures import text_card
from arena.sweeps import AXES, Sweep, SweepCell

CELL = 256
CAPTION = 24
PAD = 6
SLOT_W = CELL + 2 * PAD
SLOT_H = CELL + CAPTION + 2 * PAD
ROW_LABELS = 190
COLUMN_LABELS = 34
TITLE = 58
BAND = 34  # a Z value's band above its block
BACKGROUND = (255, 255, 255)
INK = (30, 41, 59)
FAINT = (100, 116, 139)
RULE = (203, 213, 225)


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    boxes: dict[int, tuple[int, int]]  # cell index → the top-left corner of its picture
    blocks: list[tuple[int, int]]  # per Z value: the block's top and bottom (band included)
    rows: list[tuple[int, str]]  # (y index, model), top to bottom within a block


def layout(sweep: Sweep) -> Layout:
    x_axis, y_axis, z_axis = (sweep.axis(n) for n in "xyz")
    columns = len(x_axis.values)
    rows = [(y, model) for y in range(len(y_axis.values) if y_axis else 1) for model in sweep.models]
    block_h = (BAND if z_axis else 0) + COLUMN_LABELS + len(rows) * SLOT_H
    blocks = [(TITLE + z * block_h, TITLE + (z + 1) * block_h) for z in range(len(z_axis.values) if z_axis else 1)]
    row_of = {key: i for i, key in enumerate(rows)}
    boxes = {}
    for index, cell in enumerate(sweep.cells):
        top = blocks[cell.z][0] + (BAND if z_axis else 0) + COLUMN_LABELS + row_of[(cell.y, cell.model)] * SLOT_H
        boxes[index] = (ROW_LABELS + cell.x * SLOT_W + PAD, top + PAD)
    return Layout(ROW_LABELS + columns * SLOT_W, blocks[-1][1], boxes, blocks, rows)


def grid_image(sweep: Sweep, outputs: list[PaneSnapshot | None]) -> Image.Image:
    """Every block, under a title naming the axes (and the prompt when no axis changes it)."""
    shape = layout(sweep)
    sheet = Image.new("RGB", (shape.width, shape.height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    axes = " · ".join(f"{name.upper()}: {AXES[a.kind].label}" for name, a in zip("xyz", sweep.axes, strict=False))
    draw.text((12, 8), f"Sweep   {axes}", font=_font(18), fill=INK)
    if not any(a.kind == "prompt" for a in sweep.axes):
        draw.text((12, 32), _short(sweep.prompt, shape.width // 8), font=_font(14), fill=FAINT)
    x_axis, y_axis, z_axis = (sweep.axis(n) for n in "xyz")
    for z, (top, _bottom) in enumerate(shape.blocks):
        if z_axis:
            draw.rectangle((0, top, shape.width, top + BAND - 4), fill=(241, 245, 249))
            draw.text((12, top + 7), z_axis.label(z), font=_font(17), fill=INK)
            top += BAND
        for x, label in enumerate(x_axis.labels):
            left = ROW_LABELS + x * SLOT_W
            _centred(draw, _short(label, 30), left + SLOT_W // 2, top + 9, _font(15))
        for r, (y, model) in enumerate(shape.rows):
            row_top = top + COLUMN_LABELS + r * SLOT_H
            draw.line((8, row_top, shape.width - 8, row_top), fill=INK if y_axis and r and shape.rows[r - 1][0] != y
                      else RULE, width=1)
            words = ([y_axis.label(y)] if y_axis else []) + [model]
            lines = [line for word in words for line in textwrap.wrap(word, 22)[:3]]
            draw.multiline_text((10, row_top + 12), "\n".join(lines), font=_font(14), fill=INK, spacing=4)
    for index, cell in enumerate(sweep.cells):
        left, top = shape.boxes[index]
        output = outputs[cell.run] if cell.run < len(outputs) else None
        sheet.paste(_picture(cell, output), (left, top))
        draw.rectangle((left - 1, top - 1, left + CELL, top + CELL), outline=RULE)
        draw.text((left + 2, top + CELL + 5), _short(caption(sweep, cell, output), 40), font=_font(13), fill=INK)
    return sheet


def block_image(sweep: Sweep, outputs: list[PaneSnapshot | None], z: int = 0) -> Image.Image:
    """One Z value's block (the whole grid when there is no Z axis), for a view that shows one at a time."""
    whole = grid_image(sweep, outputs)
    blocks = layout(sweep).blocks
    if len(blocks) == 1:
        return whole
    top, bottom = blocks[max(0, min(z, len(blocks) - 1))]
    return whole.crop((0, top, whole.width, bottom))


def caption(sweep: Sweep, cell: SweepCell, output: PaneSnapshot | None) -> str:
    """What the cell's label says beyond its row and column: the seed used, and the axes that do not apply."""
    parts = []
    seed = (output.used or {}).get("seed") if output is not None else None
    if seed is not None:
        parts.append(f"seed {seed}")
    parts += [f"{AXES[kind].label} n/a" for kind in cell.na]
    if output is not None and output.status in ("error", "cancelled"):
        parts.append("failed" if output.status == "error" else "stopped")
    return " · ".join(parts) or cell.model


def _picture(cell: SweepCell, output: PaneSnapshot | None) -> Image.Image:
    if output is None:
        return text_card(cell.model, "not run yet", "queued")
    if output.images:
        picture = output.images[-1].convert("RGB")
        scale = min(CELL / picture.width, CELL / picture.height)
        small = scale > 2  # a tiny picture is shown in big pixels rather than blurred
        picture = picture.resize((max(1, round(picture.width * scale)), max(1, round(picture.height * scale))),
                                 Image.Resampling.NEAREST if small else Image.Resampling.LANCZOS)
        framed = Image.new("RGB", (CELL, CELL), BACKGROUND)
        framed.paste(picture, ((CELL - picture.width) // 2, (CELL - picture.height) // 2))
        return framed
    if not output.finished and not output.text:
        work = f"step {output.steps_done}/{output.steps_total}" if output.steps_total else (output.activity or "…")
        return text_card(cell.model, f"running: {work}", "queued")
    return text_card(cell.model, output.error or output.text, output.status)


def _centred(draw: ImageDraw.ImageDraw, text: str, middle: int, top: int, font) -> None:
    width = draw.textlength(text, font=font)
    draw.text((middle - width / 2, top), text, font=font, fill=INK)


def _short(text: str, most: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= most else text[: most - 1] + "…"


def _font(size: int):
    return ImageFont.load_default(size=size)


# --- HTML ----------------------------------------------------------------------------------------------------


def grid_html(sweep: Sweep, outputs: list[PaneSnapshot | None], comparison_id: str | None = None) -> str:
    """The grid as one page with everything inside it (pictures as data URLs); model text rendered safely."""
    from arena import __version__
    from arena.templates import render

    axes = " · ".join(f"{name.upper()}: {AXES[a.kind].label}" for name, a in zip("xyz", sweep.axes, strict=False))
    summary = f"{axes} · {sweep.describe()}" + (f" · comparison {comparison_id}" if comparison_id else "")
    prompt = None if any(a.kind == "prompt" for a in sweep.axes) else sweep.prompt
    return render("sweep_grid.html.j2", summary=summary, prompt=prompt, version=__version__,
                  blocks=_blocks(sweep, outputs, None, data_url))


def grid_tables(sweep: Sweep, outputs: list[PaneSnapshot | None], z: int | None = None,
                picture_url: Callable[[Image.Image], str] | None = None) -> str:
    """The grid as HTML tables: every Z block under its heading, or only block ``z``. ``picture_url`` makes
    a picture's src (default: a PNG data URL at most 512 pixels on a side)."""
    from arena.templates import render

    return render("sweep_tables.html.j2", blocks=_blocks(sweep, outputs, z, picture_url or data_url))


def _blocks(sweep: Sweep, outputs: list[PaneSnapshot | None], z: int | None, picture_url) -> list[dict]:
    """What the tables show, block by block (arena/templates/sweep_tables.html.j2 lays it out)."""
    x_axis, y_axis, z_axis = (sweep.axis(n) for n in "xyz")
    by_place = {(c.x, c.y, c.z, c.model): c for c in sweep.cells}
    blocks = []
    for block in range(len(z_axis.values) if z_axis else 1):
        if z is not None and block != z:
            continue
        rows = [{"y_label": y_axis.label(y) if y_axis else None, "model": model,
                 "cells": [_cell_view(sweep, by_place[(x, y, block, model)], outputs, picture_url)
                           for x in range(len(x_axis.values))]}
                for y in range(len(y_axis.values) if y_axis else 1) for model in sweep.models]
        title = z_axis.label(block) if z_axis and z is None else None
        blocks.append({"title": title, "head": list(x_axis.labels), "rows": rows})
    return blocks


def _cell_view(sweep: Sweep, cell: SweepCell, outputs: list[PaneSnapshot | None], picture_url) -> dict:
    output = outputs[cell.run] if cell.run < len(outputs) else None
    view = {"output": output, "caption": caption(sweep, cell, output), "picture": None, "work": None}
    if output is None:
        return view
    if output.images:
        view["picture"] = picture_url(output.images[-1])
    elif not output.finished and not output.text:
        view["work"] = (f"step {output.steps_done}/{output.steps_total}" if output.steps_total
                        else (output.activity or "…"))
    return view


def data_url(image: Image.Image, most: int = 512, fmt: str = "PNG") -> str:
    picture = image.convert("RGB")
    picture.thumbnail((most, most), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, format=fmt)
    return f"data:image/{fmt.lower()};base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
