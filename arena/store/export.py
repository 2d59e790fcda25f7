"""Exports of gallery records: a static HTML page, JSON Lines, and a contact sheet PNG.

File names come from record ids and content hashes, never from prompt text; model text is escaped, answers
are rendered through arena.render's allowlist (no raw HTML, scripts, handlers or external resources).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from html import escape
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from arena.render import markdown_html
from arena.store import OutputRecord, Store
from arena.store.pictures import text_card

CELL = 256
LABEL = 40


def export(store: Store, records: list[OutputRecord], destination: Path, fmt: str) -> Path:
    """Write ``records`` as ``fmt`` (html, jsonl or sheet) to ``destination`` (a folder, a .zip, or a .png)."""
    if not records:
        raise ValueError("nothing to export: no records match")
    destination = Path(destination)
    if fmt == "sheet":
        if destination.suffix.lower() != ".png":
            destination = destination / "contact-sheet.png" if destination.is_dir() else destination.with_suffix(".png")
        destination.parent.mkdir(parents=True, exist_ok=True)
        contact_sheet(store, records).save(destination)
        return destination
    writer = {"html": _write_html, "jsonl": _write_jsonl}.get(fmt)
    if writer is None:
        raise ValueError(f"unknown export format {fmt!r}: html, jsonl or sheet")
    if destination.suffix.lower() == ".zip":
        destination.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as scratch:
            writer(store, records, Path(scratch))
            with zipfile.ZipFile(destination, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in sorted(Path(scratch).rglob("*")):
                    if path.is_file():
                        archive.write(path, path.relative_to(scratch).as_posix())
        return destination
    destination.mkdir(parents=True, exist_ok=True)
    writer(store, records, destination)
    return destination


def _copy_pictures(store: Store, records: list[OutputRecord], folder: Path) -> None:
    (folder / "images").mkdir(exist_ok=True)
    for record in records:
        for sha in [*record.images, *([record.input_image] if record.input_image else [])]:
            target = folder / "images" / f"{sha}.png"
            if not target.exists() and store.images.exists(sha):
                shutil.copyfile(store.images.path(sha), target)


def _write_jsonl(store: Store, records: list[OutputRecord], folder: Path) -> None:
    _copy_pictures(store, records, folder)
    with open(folder / "records.jsonl", "w", encoding="utf-8") as out:
        for record in records:
            line = record.to_dict()
            line["image_files"] = [f"images/{sha}.png" for sha in record.images]
            line["input_image_file"] = f"images/{record.input_image}.png" if record.input_image else None
            out.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src 'self'; style-src 'unsafe-inline'">
<title>Arena gallery</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #1e293b; background: #f8fafc; }}
section {{ margin-bottom: 2.5rem; }}
.grid {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 1rem; }}
.card {{ background: white; border: 1px solid #cbd5e1; border-radius: 10px; padding: 0.8rem; }}
.card img {{ width: 100%; border-radius: 6px; }}
.model {{ font-weight: 700; }} .meta {{ color: #64748b; font-size: 0.85em; }}
.error {{ color: #b91c1c; }} pre {{ white-space: pre-wrap; overflow-wrap: anywhere; font-size: 0.9em; }}
.input {{ max-width: 240px; border-radius: 6px; }}
.answer {{ overflow-wrap: anywhere; font-size: 0.95em; }} .answer pre {{ background: #f1f5f9; padding: 6px; }}
.arena-table {{ overflow-x: auto; }} .answer table {{ border-collapse: collapse; }}
.answer th, .answer td {{ border: 1px solid #cbd5e1; padding: 2px 6px; overflow-wrap: normal; }}
</style></head><body>
<h1>Arena gallery</h1>
<p class="meta">{count} outputs · exported by Arena {version}</p>
{sections}
</body></html>
"""


def _write_html(store: Store, records: list[OutputRecord], folder: Path) -> None:
    from arena import __version__

    _copy_pictures(store, records, folder)
    sections = []
    for comparison_id, group in _by_comparison(records).items():
        first = group[0]
        cards = "".join(_card(record) for record in group)
        picture = (f'<img class="input" alt="input image" src="images/{first.input_image}.png">'
                   if first.input_image else "")
        sections.append(
            f'<section id="c-{escape(comparison_id)}"><h2>{escape(first.prompt)}</h2>'
            f'<p class="meta">{escape(first.created)}</p>{picture}<div class="grid">{cards}</div></section>'
        )
    (folder / "index.html").write_text(
        _PAGE.format(count=len(records), version=escape(__version__), sections="\n".join(sections)), encoding="utf-8"
    )


def _card(record: OutputRecord) -> str:
    pictures = "".join(f'<img alt="output of {escape(record.model)}" src="images/{sha}.png">' for sha in record.images)
    seed = record.used.get("seed")
    details = ", ".join(f"{key}={value}" for key, value in sorted(record.used.items()))
    return (
        f'<div class="card" id="o-{escape(record.id)}"><div class="model">{escape(record.model)}</div>'
        f'<div class="meta">{escape(record.kind)} · {escape(record.status)}'
        f'{f" · seed {escape(str(seed))}" if seed is not None else ""}</div>{pictures}'
        + (f'<div class="answer">{markdown_html(record.text)}</div>' if record.text else "")  # arena.render
        + (f'<p class="error">{escape(record.error)}</p>' if record.error else "")
        + (f'<p class="meta">made from <a href="#o-{escape(record.parent_id)}">output {escape(record.parent_id)}</a>'
           "</p>" if record.parent_id else "")
        + (f'<p class="meta">note: {escape(record.note)}</p>' if record.note else "")
        + f'<p class="meta">{escape(details)}</p></div>'
    )


def _by_comparison(records: list[OutputRecord]) -> dict[str, list[OutputRecord]]:
    groups: dict[str, list[OutputRecord]] = {}
    for record in sorted(records, key=lambda r: r.created_at):
        groups.setdefault(record.comparison_id, []).append(record)
    return groups


def contact_sheet(store: Store, records: list[OutputRecord]) -> Image.Image:
    """One PNG: a row per prompt, a column per model, each cell labelled with the model and the seed."""
    prompts = list(dict.fromkeys(r.prompt for r in sorted(records, key=lambda r: r.created_at)))
    models = list(dict.fromkeys(r.model for r in records))
    cells: dict[tuple[str, str], OutputRecord] = {}
    for record in sorted(records, key=lambda r: r.created_at):
        cells.setdefault((record.prompt, record.model), record)
    margin = 220
    sheet = Image.new("RGB", (margin + len(models) * CELL, len(prompts) * (CELL + LABEL)), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=14)
    for row, prompt in enumerate(prompts):
        top = row * (CELL + LABEL)
        draw.multiline_text((10, top + 10), _wrap(prompt, 26, 12), font=font, fill=(30, 41, 59), spacing=3)
        for column, model in enumerate(models):
            record = cells.get((prompt, model))
            if record is None:
                continue
            left = margin + column * CELL
            sheet.paste(_cell_picture(store, record), (left, top))
            seed = record.used.get("seed")
            label = f"{model} · seed {seed}" if seed is not None else model
            draw.text((left + 6, top + CELL + 10), label[:34], font=font, fill=(30, 41, 59))
    return sheet


def _cell_picture(store: Store, record: OutputRecord) -> Image.Image:
    if record.images and store.images.exists(record.images[0]):
        with Image.open(store.images.path(record.images[0])) as image:
            picture = image.convert("RGB")
        picture.thumbnail((CELL, CELL), Image.Resampling.LANCZOS)
        framed = Image.new("RGB", (CELL, CELL), "white")
        framed.paste(picture, ((CELL - picture.width) // 2, (CELL - picture.height) // 2))
        return framed
    return text_card(record.model, record.error or record.text, record.status)


def _wrap(text: str, width: int, lines: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(" ".join(text.split()), width=width)[:lines])
