"""Exports of gallery records: a static HTML page, JSON Lines, and a contact sheet PNG.

File names come from record ids and content hashes, never from prompt text. The page is a template
(arena/templates/gallery_export.html.j2, autoescaped); answers go through arena.render's allowlist (no raw HTML,
scripts, handlers or external resources).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from arena.store import OutputRecord, Store, labels
from arena.store.pictures import text_card

CELL = 256
LABEL = 40
SHEET_COLUMNS = 6  # a prompt with more outputs continues on the next line


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


def _write_html(store: Store, records: list[OutputRecord], folder: Path) -> None:
    """One block per comparison: what was asked (the prompt and input image, once), then its outputs side by side."""
    from arena import __version__
    from arena.templates import render

    _copy_pictures(store, records, folder)
    comparisons = [
        {"id": comparison_id, "cards": [(record, labels.line(record, record.used | record.metrics)) for record in rows]}
        for comparison_id, rows in _by_comparison(records).items()
    ]
    page = render("gallery_export.html.j2", count=len(records), comparisons=comparisons, version=__version__)
    (folder / "index.html").write_text(page, encoding="utf-8")


def _by_comparison(records: list[OutputRecord]) -> dict[str, list[OutputRecord]]:
    groups: dict[str, list[OutputRecord]] = {}
    for record in sorted(records, key=lambda r: r.created_at):
        groups.setdefault(record.comparison_id, []).append(record)
    return groups


def contact_sheet(store: Store, records: list[OutputRecord]) -> Image.Image:
    """One PNG: a band per prompt holding every one of its outputs (grouped by model, oldest first, up to
    SHEET_COLUMNS to a line), each cell labelled with its model and seed."""
    ordered = sorted(records, key=lambda r: r.created_at)
    models = list(dict.fromkeys(r.model for r in ordered))
    bands: dict[str, list[OutputRecord]] = {}
    for record in ordered:
        bands.setdefault(record.prompt, []).append(record)
    for prompt, outputs in bands.items():
        bands[prompt] = sorted(outputs, key=lambda r: models.index(r.model))  # stable: oldest first per model
    columns = min(SHEET_COLUMNS, max(len(outputs) for outputs in bands.values()))
    lines = {prompt: -(-len(outputs) // columns) for prompt, outputs in bands.items()}
    margin = 220
    sheet = Image.new("RGB", (margin + columns * CELL, sum(lines.values()) * (CELL + LABEL)), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=14)
    top = 0
    for prompt, outputs in bands.items():
        draw.multiline_text((10, top + 10), _wrap(prompt, 26, 12), font=font, fill=(30, 41, 59), spacing=3)
        for number, record in enumerate(outputs):
            left = margin + (number % columns) * CELL
            cell_top = top + (number // columns) * (CELL + LABEL)
            sheet.paste(_cell_picture(store, record), (left, cell_top))
            draw.text((left + 6, cell_top + CELL + 10), _sheet_label(record), font=font, fill=(30, 41, 59))
        top += lines[prompt] * (CELL + LABEL)
        draw.line([(0, top - 1), (sheet.width, top - 1)], fill=(203, 213, 225))
    return sheet


def _sheet_label(record: OutputRecord, room: int = 34) -> str:
    seed = record.used.get("seed")
    tail = f" · seed {seed}" if seed is not None else ""
    model = record.model if len(record.model) + len(tail) <= room else record.model[: room - len(tail) - 1] + "…"
    return model + tail


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
