"""Finished or running panes as plain data (the /compare API) and as files (the CLI's --out folder)."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from arena.pane import PaneSnapshot

if TYPE_CHECKING:
    from arena.store import Store


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def pane_dict(pane: PaneSnapshot, with_images: bool = True) -> dict:
    """JSON-ready; images as PNG data URLs, only once the pane has ended (or when asked)."""
    images = []
    if with_images and pane.finished:
        images = ["data:image/png;base64," + base64.b64encode(png_bytes(i)).decode("ascii") for i in pane.images]
    return {
        "model": pane.model,
        "kind": pane.kind,
        "status": pane.status,
        "text": pane.text,
        "images": images,
        "error": pane.error,
        "notices": pane.notices,
        "used": pane.used,
        "metrics": {
            "ttft_s": _round(pane.ttft_s),
            "total_s": _round(pane.total_s),
            "tokens": pane.tokens,
            "tokens_per_s": _round(pane.tokens_per_s),
            "steps": pane.steps_done or None,
            "steps_per_s": _round(pane.steps_per_s),
        },
        **({"unsaved": pane.unsaved} if pane.unsaved else {}),
    }


def picture_file(pane: PaneSnapshot, number: int, store: "Store | None") -> bytes:
    """The pane's picture ``number`` (from 0) as PNG bytes: the stored file where the gallery kept it, which
    carries its record (so the file alone says how it was made, and a later chain links to it), else plain."""
    record = store.get(pane.record_id) if store is not None and pane.record_id else None
    if record is not None and number < len(record.images) and store.images.exists(record.images[number]):
        return store.images.path(record.images[number]).read_bytes()
    return png_bytes(pane.images[number])


def write_pictures(pane: PaneSnapshot, folder: Path, stem: str, store: "Store | None") -> list[Path]:
    """The pane's pictures as STEM.png, STEM-2.png…, each with its record where the gallery kept it."""
    paths = []
    for number in range(len(pane.images)):
        path = folder / (f"{stem}.png" if number == 0 else f"{stem}-{number + 1}.png")
        path.write_bytes(picture_file(pane, number, store))
        paths.append(path)
    return paths


def write_outputs(panes: list[PaneSnapshot], folder: Path, store: "Store | None" = None) -> dict[str, list[Path]]:
    """Each model's text as NAME.md and images as NAME.png (NAME-2.png…); returns what was written per model."""
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, list[Path]] = {}
    for pane in panes:
        files = written.setdefault(pane.model, [])
        if pane.text or pane.error:
            path = folder / f"{pane.model}.md"
            body = pane.text if not pane.error else f"{pane.text}\n\n> error: {pane.error}\n".lstrip()
            path.write_text(body, encoding="utf-8")
            files.append(path)
        files += write_pictures(pane, folder, pane.model, store)
    return written


def metrics_line(pane: PaneSnapshot) -> str:
    parts = []
    if pane.ttft_s is not None and pane.output == "text":
        parts.append(f"first token {pane.ttft_s:.2f} s")
    if pane.total_s is not None:
        parts.append(f"total {pane.total_s:.2f} s")
    if pane.tokens:
        parts.append(f"{pane.tokens} token{'s' if pane.tokens != 1 else ''}")
    if pane.tokens_per_s:
        parts.append(f"{pane.tokens_per_s:.1f} tok/s")
    if pane.steps_total:
        parts.append(f"{pane.steps_done}/{pane.steps_total} steps")
    if pane.steps_per_s:
        parts.append(f"{pane.steps_per_s:.1f} steps/s")
    return " · ".join(parts)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
