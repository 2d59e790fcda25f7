"""Comparisons and their outputs: saving a finished pane (pictures first, then its record), reading records back
by id, comparison, chain or filter, and the few edits a user makes (favourite, note, delete)."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from PIL import Image

from arena.api_keys import scrub, scrubber
from arena.errors import StorageError
from arena.lineage import NO_LINEAGE, Lineage
from arena.store import pictures
from arena.store.database import insert, insert_many, marks, to_json
from arena.store.records import Filter, OutputRecord, new_id

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from arena.catalog import ModelEntry
    from arena.pane import PaneSnapshot
    from arena.request import Request


class Outputs:
    """The outputs half of ``Store`` (it brings ``connection``, ``transaction``, ``dialect``, ``images`` and
    ``thumbs``)."""

    # --- writing -------------------------------------------------------------------------------------------

    def start_comparison(self, request: "Request", models: list[str]) -> str:
        comparison_id = new_id()
        image_sha = self.images.put(request.image.png) if request.image is not None else None
        with self.transaction() as db:
            insert(db, "comparisons", {
                "id": comparison_id, "created_at": time.time(), "prompt": scrub(request.prompt),
                "input_image": image_sha, "params": to_json(request.params.model_dump(exclude_none=True)),
                "models": to_json(models)})
        return comparison_id

    def ensure_comparison(self, comparison_id: str, prompt: str, created_at: float) -> None:
        with self.transaction() as db:
            insert(db, "comparisons", {"id": comparison_id, "created_at": created_at, "prompt": prompt,
                                       "input_image": None, "params": "{}", "models": "[]"}, "ignore")

    def save_output(self, comparison_id: str, pane: "PaneSnapshot", request: "Request", entry: "ModelEntry",
                    versions: dict[str, str], lineage: Lineage = NO_LINEAGE) -> OutputRecord:
        """Keep one finished pane: its pictures (with their record inside), then the record.

        ``versions`` are the libraries that made the output (the caller asks its backend; the store knows none)."""
        clean = scrubber()
        record = OutputRecord(
            id=new_id(), comparison_id=comparison_id, created_at=time.time(), model=pane.model, kind=pane.kind,
            output=pane.output, status=pane.status, prompt=clean(request.prompt),
            input_image=request.image.sha256 if request.image is not None else None,
            text=clean(pane.text), error=clean(pane.error) if pane.error else None, images=[], thumb=None,
            entry=json.loads(clean(entry.model_dump_json())),
            params=request.params.model_dump(exclude_none=True), used=json.loads(clean(to_json(pane.used))),
            versions=dict(versions),
            metrics={"ttft_s": pane.ttft_s, "total_s": pane.total_s, "tokens": pane.tokens,
                     "tokens_per_s": pane.tokens_per_s, "steps": pane.steps_done or None,
                     "steps_per_s": pane.steps_per_s},
            notices=[clean(n) for n in pane.notices],
            parent_id=lineage.parent_id, rerun_of=lineage.rerun_of, run_id=lineage.run_id,
            case_id=lineage.case_id, case_hash=lineage.case_hash, sample=lineage.sample,
            user_name=request.user_name, battle_id=lineage.battle_id,
        )
        return self.save(record, pane.images)

    def save(self, record: OutputRecord, images: Iterable[Image.Image] = ()) -> OutputRecord:
        self._put_pictures(record, list(images), durable=True)
        with self.transaction() as db:
            _insert(db, record)
        return record

    def save_many(self, records: list[tuple[OutputRecord, list[Image.Image]]]) -> None:
        """Many records in one transaction (imports, benchmarks): files are synced once, before the records."""
        for record, images in records:
            self._put_pictures(record, images, durable=False)
        os.sync()
        with self.transaction() as db:
            for record, _ in records:
                _insert(db, record)

    def _put_pictures(self, record: OutputRecord, images: list[Image.Image], durable: bool) -> None:
        """The record's pictures (each carrying the record), written before the record.

        Its thumbnail is drawn when first shown (``thumb_paths``): a save writes one object per picture, which is
        what bounds how many saves a shared bucket takes per second."""
        provenance = record.provenance()
        record.images = [self.images.put(pictures.png_with_record(i, provenance), durable) for i in images]

    def thumb_paths(self, records: list[OutputRecord]) -> list[Path]:
        """Each record's thumbnail file. Those not drawn yet (from the first picture, or a card of the text answer)
        are drawn now, a few at once, and kept. A picture that cannot be read or whose thumbnail cannot be stored
        (a bucket down) is shown as itself, and its thumbnail is tried again at the next look."""
        missing = [record for record in records if record.thumb is None]
        if missing:
            with ThreadPoolExecutor(max_workers=min(4, len(missing))) as pool:
                shas = list(pool.map(self._draw_thumb, missing))
            for record, sha in zip(missing, shas, strict=True):
                record.thumb = sha
            drawn = [(record.thumb, record.id) for record in missing if record.thumb is not None]
            if drawn:
                with self.transaction() as db:
                    db.executemany("UPDATE outputs SET thumb = ? WHERE id = ?", drawn)
        return [self.thumbs.path(r.thumb) if r.thumb else self.images.path(r.images[0]) for r in records]

    def _draw_thumb(self, record: OutputRecord) -> str | None:
        if not record.images:
            card = pictures.text_card(record.model, record.error or record.text, record.status)
            return self.thumbs.put(pictures.thumbnail(card), durable=False)
        try:
            with Image.open(self.images.path(record.images[0])) as picture:
                small = pictures.thumbnail(picture)
            return self.thumbs.put(small, durable=False)
        except (OSError, StorageError) as error:
            log.warning("no thumbnail for output %s yet: %s", record.id, error)
            return None

    def set_favourite(self, output_id: str, favourite: bool) -> None:
        with self.transaction() as db:
            db.execute("UPDATE outputs SET favourite = ? WHERE id = ?", (int(favourite), output_id))

    def set_note(self, output_id: str, note: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE outputs SET note = ? WHERE id = ?", (note[:2000], output_id))

    def delete(self, output_id: str) -> bool:
        """Delete a record and the files no other record uses."""
        with self.transaction() as db:
            row = db.execute("SELECT thumb, comparison_id FROM outputs WHERE id = ?", (output_id,)).fetchone()
            if row is None:
                return False
            shas = [r[0] for r in db.execute("SELECT sha FROM output_images WHERE output_id = ?", (output_id,))]
            db.execute("DELETE FROM output_images WHERE output_id = ?", (output_id,))
            db.execute("DELETE FROM outputs WHERE id = ?", (output_id,))
        for sha in shas:
            if not self._image_used(sha):
                self.images.delete(sha)
        if row["thumb"] and not self.picture_in_use("thumbs", row["thumb"]):
            self.thumbs.delete(row["thumb"])
        return True

    def picture_in_use(self, kind: str, sha: str) -> bool:
        """Whether a record still uses this picture (``images``) or thumbnail (``thumbs``)."""
        if kind == "thumbs":
            return bool(self.connection().execute("SELECT 1 FROM outputs WHERE thumb = ? LIMIT 1", (sha,)).fetchone())
        return self._image_used(sha)

    def _image_used(self, sha: str) -> bool:
        db = self.connection()
        return bool(db.execute("SELECT 1 FROM output_images WHERE sha = ? LIMIT 1", (sha,)).fetchone()
                    or db.execute("SELECT 1 FROM comparisons WHERE input_image = ? LIMIT 1", (sha,)).fetchone()
                    or db.execute("SELECT 1 FROM vote_images WHERE sha = ? LIMIT 1", (sha,)).fetchone())

    # --- reading -------------------------------------------------------------------------------------------

    def get(self, output_id: str) -> OutputRecord | None:
        rows = self._select("WHERE o.id = ?", [output_id])
        return rows[0] if rows else None

    def siblings(self, record: OutputRecord) -> list[OutputRecord]:
        """Every output of the same comparison, in the order they were saved."""
        return self._select("WHERE o.comparison_id = ? ORDER BY o.created_at", [record.comparison_id])

    def chain(self, record: OutputRecord, limit: int = 200) -> list[OutputRecord]:
        """The outputs linked to this one by chains and conversations: its parents up to the first, then it and
        everything made from it (breadth first), in the order they were made."""
        ancestors: list[OutputRecord] = []
        parent_id, seen = record.parent_id, {record.id}
        while parent_id and parent_id not in seen and len(ancestors) < limit:
            parent = self.get(parent_id)
            if parent is None:
                break
            ancestors.insert(0, parent)
            seen.add(parent.id)
            parent_id = parent.parent_id
        descendants: list[OutputRecord] = []
        frontier = [record.id]
        while frontier and len(descendants) < limit:
            children = [c for c in self._select(f"WHERE o.parent_id IN ({marks(frontier)}) ORDER BY o.created_at",
                                                frontier)
                        if c.id not in seen]
            seen.update(c.id for c in children)
            descendants += children
            frontier = [c.id for c in children]
        return sorted([*ancestors, record, *descendants[:limit]], key=lambda r: r.created_at)

    def reruns(self, record: OutputRecord) -> list[OutputRecord]:
        return self._select("WHERE o.rerun_of = ? ORDER BY o.created_at", [record.id])

    def cached_answer(self, model: str, case_hash: str, sample: int) -> OutputRecord | None:
        """The newest finished output of this model for this suite case content and sample, if any."""
        rows = self._select("WHERE o.model = ? AND o.case_hash = ? AND o.sample = ? AND o.status = 'done' "
                            "ORDER BY o.created_at DESC LIMIT 1", [model, case_hash, sample])
        return rows[0] if rows else None

    def query(self, where: Filter, page: int = 1, per_page: int = 24) -> tuple[list[OutputRecord], int]:
        """One page of records, newest first, and how many match in all."""
        condition, values = _condition(where, self.dialect)
        total = self.connection().execute(f"SELECT COUNT(*) FROM outputs o {condition}", values).fetchone()[0]
        offset = max(0, page - 1) * per_page
        rows = self._select(f"{condition} ORDER BY o.created_at DESC, o.id DESC LIMIT ? OFFSET ?",
                            [*values, per_page, offset])
        return rows, total

    def all(self, where: Filter) -> list[OutputRecord]:
        condition, values = _condition(where, self.dialect)
        return self._select(f"{condition} ORDER BY o.created_at", values)

    def models(self) -> list[str]:
        return [r[0] for r in self.connection().execute("SELECT DISTINCT model FROM outputs ORDER BY model")]

    def count(self) -> int:
        return self.connection().execute("SELECT COUNT(*) FROM outputs").fetchone()[0]

    def input_image(self, sha: str | None):
        """The stored input image of a comparison, ready to send again."""
        from arena.images import InputImage

        if not sha or not self.images.exists(sha):
            return None
        with Image.open(self.images.path(sha)) as image:
            return InputImage(image.convert("RGB"))

    def _select(self, tail: str, values: list) -> list[OutputRecord]:
        rows = self.connection().execute(f"SELECT o.* FROM outputs o {tail}", values).fetchall()
        if not rows:
            return []
        images: dict[str, list[str]] = {}
        ids = [r["id"] for r in rows]
        for row in self.connection().execute(
            f"SELECT output_id, sha FROM output_images WHERE output_id IN ({marks(ids)}) ORDER BY position", ids,
        ):
            images.setdefault(row[0], []).append(row[1])
        return [_record(row, images.get(row["id"], [])) for row in rows]


def _insert(db, record: OutputRecord) -> None:
    insert(db, "outputs", {
        "id": record.id, "comparison_id": record.comparison_id, "created_at": record.created_at,
        "model": record.model, "kind": record.kind, "output": record.output, "status": record.status,
        "prompt": record.prompt, "input_image": record.input_image, "text": record.text, "error": record.error,
        "thumb": record.thumb, "entry": to_json(record.entry), "params": to_json(record.params),
        "used": to_json(record.used), "versions": to_json(record.versions), "metrics": to_json(record.metrics),
        "notices": to_json(record.notices), "parent_id": record.parent_id, "rerun_of": record.rerun_of,
        "run_id": record.run_id, "favourite": int(record.favourite), "note": record.note,
        "case_id": record.case_id, "case_hash": record.case_hash, "sample": record.sample,
        "user_name": record.user_name, "battle_id": record.battle_id,
    })
    insert_many(db, "output_images", [{"output_id": record.id, "position": position, "sha": sha}
                                      for position, sha in enumerate(record.images)])


def _condition(where: Filter, dialect) -> tuple[str, list]:
    """The filter as a WHERE clause on ``outputs o`` (empty when it keeps everything) and its values."""
    clauses: list[str] = []
    values: list = []
    if where.models:
        clauses.append(f"o.model IN ({marks(where.models)})")
        values += list(where.models)
    if where.output:
        clauses.append("o.output = ?")
        values.append(where.output)
    words = [w for w in where.words.split() if w.strip('"')]
    if words:
        clause, value = dialect.prompt_words(words)
        clauses.append(clause)
        values.append(value)
    if where.since is not None:
        clauses.append("o.created_at >= ?")
        values.append(where.since)
    if where.until is not None:
        clauses.append("o.created_at < ?")
        values.append(where.until)
    if where.favourites:
        clauses.append("o.favourite = 1")
    if where.run_id:
        clauses.append("o.run_id = ?")
        values.append(where.run_id)
    if where.comparison_id:
        clauses.append("o.comparison_id = ?")
        values.append(where.comparison_id)
    if where.ids is not None:
        clauses.append(f"o.id IN ({marks(where.ids)})")
        values += list(where.ids)
    elif not where.open_battles:
        clauses.append("(o.battle_id IS NULL OR EXISTS (SELECT 1 FROM votes v WHERE v.battle_id = o.battle_id))")
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", values


def _record(row: sqlite3.Row, images: list[str]) -> OutputRecord:
    return OutputRecord(
        id=row["id"], comparison_id=row["comparison_id"], created_at=row["created_at"], model=row["model"],
        kind=row["kind"], output=row["output"], status=row["status"], prompt=row["prompt"],
        input_image=row["input_image"], text=row["text"], error=row["error"], images=images, thumb=row["thumb"],
        entry=json.loads(row["entry"]), params=json.loads(row["params"]), used=json.loads(row["used"]),
        versions=json.loads(row["versions"]), metrics=json.loads(row["metrics"]), notices=json.loads(row["notices"]),
        parent_id=row["parent_id"], rerun_of=row["rerun_of"], run_id=row["run_id"], favourite=bool(row["favourite"]),
        note=row["note"], case_id=row["case_id"], case_hash=row["case_hash"], sample=row["sample"],
        user_name=row["user_name"], battle_id=row["battle_id"],
    )
