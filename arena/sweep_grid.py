"""A sweep's outputs as one labelled grid: a PNG (Automatic1111's X/Y/Z plot) and a self-contained HTML page.

Columns are the X axis's values; rows are the Y axis's values × the models (with no Y axis, one row per model);
a Z axis gives one block per value, stacked under a band that names it. Every cell is captioned with the seed it
used and with the axes that do not apply to its model ("steps n/a"). Text answers are drawn as the gallery's text
cards.
"""

from __future__ import annotations

import base64
import io
import textwrap
from dataclasses import dataclass
from html import escape
from typing import Callable

from PIL import Image, ImageDraw, ImageFont

from arena.pane import PaneSnapshot
from arena.render import markdown_html
from arena.store.pictures import text_card
from arena.sweeps import AXES, Cell, Sweep

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


def caption(sweep: Sweep, cell: Cell, output: PaneSnapshot | None) -> str:
    """What the cell's label says beyond its row and column: the seed used, and the axes that do not apply."""
    parts = []
    seed = (output.used or {}).get("seed") if output is not None else None
    if seed is not None:
        parts.append(f"seed {seed}")
    parts += [f"{AXES[kind].label} n/a" for kind in cell.na]
    if output is not None and output.status in ("error", "cancelled"):
        parts.append("failed" if output.status == "error" else "stopped")
    return " · ".join(parts) or cell.model


def _picture(cell: Cell, output: PaneSnapshot | None) -> Image.Image:
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

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Arena sweep</title>
<style>
:root {{ color-scheme: light dark; --ink: #1e293b; --faint: #64748b; --line: #cbd5e1; --card: #fff; --page: #f8fafc; }}
@media (prefers-color-scheme: dark) {{
  :root {{ --ink: #e2e8f0; --faint: #94a3b8; --line: #334155; --card: #1e293b; --page: #0f172a; }} }}
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; color: var(--ink); background: var(--page); }}
.scroll {{ overflow-x: auto; }}
table {{ border-collapse: separate; border-spacing: 6px; }}
th {{ text-align: left; vertical-align: top; font-size: 0.9em; min-width: 8rem; }}
thead th {{ text-align: center; }}
td {{ vertical-align: top; background: var(--card); border: 1px solid var(--line); border-radius: 8px;
      padding: 6px; width: 260px; min-width: 220px; max-width: 320px; }}
td img {{ width: 100%; border-radius: 4px; display: block; }}
.answer {{ max-height: 18rem; overflow: auto; font-size: 0.88em; overflow-wrap: anywhere; }}
.answer pre {{ white-space: pre-wrap; }}
.cap, .meta {{ color: var(--faint); font-size: 0.82em; }} .error {{ color: #dc2626; }}
</style></head><body>
<h1>Sweep</h1>
<p class="meta">{summary}</p>
<p>{prompt}</p>
{blocks}
<p class="meta">Made by Arena {version}.</p>
</body></html>
"""


def grid_html(sweep: Sweep, outputs: list[PaneSnapshot | None], comparison_id: str | None = None) -> str:
    """The grid as one page with everything inside it (pictures as data URLs); model text rendered safely."""
    from arena import __version__

    axes = " · ".join(f"{name.upper()}: {AXES[a.kind].label}" for name, a in zip("xyz", sweep.axes, strict=False))
    summary = f"{axes} · {sweep.describe()}" + (f" · comparison {comparison_id}" if comparison_id else "")
    prompt = "" if any(a.kind == "prompt" for a in sweep.axes) else f"<b>Prompt:</b> {escape(sweep.prompt)}"
    return _PAGE.format(summary=escape(summary), prompt=prompt, blocks=grid_tables(sweep, outputs),
                        version=escape(__version__))


def grid_tables(sweep: Sweep, outputs: list[PaneSnapshot | None], z: int | None = None,
                picture_url: Callable[[Image.Image], str] | None = None) -> str:
    """The grid as HTML tables: every Z block under its heading, or only block ``z``. ``picture_url`` makes
    a picture's src (default: a PNG data URL at most 512 pixels on a side)."""
    x_axis, y_axis, z_axis = (sweep.axis(n) for n in "xyz")
    by_place = {(c.x, c.y, c.z, c.model): c for c in sweep.cells}
    blocks = []
    for block in range(len(z_axis.values) if z_axis else 1):
        if z is not None and block != z:
            continue
        head = "".join(f"<th scope=col>{escape(label)}</th>" for label in x_axis.labels)
        body = []
        for y in range(len(y_axis.values) if y_axis else 1):
            for model in sweep.models:
                name = (f"{escape(y_axis.label(y))}<br>" if y_axis else "") + f"<span class=meta>{escape(model)}</span>"
                cells = "".join(_html_cell(sweep, by_place[(x, y, block, model)], outputs, picture_url or data_url)
                                for x in range(len(x_axis.values)))
                body.append(f"<tr><th scope=row>{name}</th>{cells}</tr>")
        title = f"<h2>{escape(z_axis.label(block))}</h2>" if z_axis and z is None else ""
        blocks.append(f'<section>{title}<div class="scroll"><table><thead><tr><th></th>{head}</tr></thead>'
                      f"<tbody>{''.join(body)}</tbody></table></div></section>")
    return "\n".join(blocks)


def _html_cell(sweep: Sweep, cell: Cell, outputs: list[PaneSnapshot | None], picture_url) -> str:
    output = outputs[cell.run] if cell.run < len(outputs) else None
    label = f'<div class="cap">{escape(caption(sweep, cell, output))}</div>'
    if output is None:
        return f'<td><p class="meta">not run yet</p>{label}</td>'
    inner = ""
    if output.images:
        inner += f'<img alt="output of {escape(output.model)}" src="{picture_url(output.images[-1])}">'
    elif not output.finished and not output.text:
        work = f"step {output.steps_done}/{output.steps_total}" if output.steps_total else (output.activity or "…")
        inner += f'<p class="meta">running: {escape(work)}</p>'
    if output.text:
        inner += f'<div class="answer">{markdown_html(output.text)}</div>'
    if output.error:
        inner += f'<p class="error">{escape(output.error)}</p>'
    return f"<td>{inner}{label}</td>"


def data_url(image: Image.Image, most: int = 512, fmt: str = "PNG") -> str:
    picture = image.convert("RGB")
    picture.thumbnail((most, most), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, format=fmt)
    return f"data:image/{fmt.lower()};base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
