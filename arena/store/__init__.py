"""The gallery's storage: SQLite (WAL) for records, content-addressed files for pictures.

Pictures are written first (atomically), then the record in one transaction, so a record never points to a
missing file; what an interrupted save leaves behind is cleaned when the store opens.
"""

from __future__ import annotations

import json
import os
import secrets as random_source
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from PIL import Image

from arena.secrets import scrub, scrubber
from arena.store import pictures
from arena.store.blobs import Blobs
from arena.store.schema import migrate

if TYPE_CHECKING:
    from arena.catalog import ModelEntry
    from arena.pane import PaneSnapshot
    from arena.request import Request

# Files younger than this are never taken for orphans: another process may be between file and record.
ORPHAN_GRACE_S = 120
# A comparison is left without outputs only by a killed process, once it is older than the longest answer.
EMPTY_COMPARISON_GRACE_S = 6 * 3600

@dataclass
class OutputRecord:
    id: str
    comparison_id: str
    created_at: float
    model: str
    kind: str
    output: str
    status: str
    prompt: str
    input_image: str | None
    text: str
    error: str | None
    images: list[str]
    thumb: str | None
    entry: dict
    params: dict
    used: dict
    versions: dict
    metrics: dict
    notices: list[str]
    parent_id: str | None = None
    rerun_of: str | None = None
    run_id: str | None = None
    favourite: bool = False
    note: str = ""
    case_id: str | None = None
    case_hash: str | None = None
    sample: int | None = None

    @property
    def created(self) -> str:
        return datetime.fromtimestamp(self.created_at, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")

    def to_dict(self) -> dict:
        return asdict(self)

    def provenance(self) -> dict:
        """What a picture file carries: everything needed to make it again."""
        keys = ("id", "comparison_id", "created_at", "model", "kind", "prompt", "input_image", "entry", "params",
                "used", "versions", "parent_id", "rerun_of", "run_id", "case_id", "case_hash", "sample")
        return {key: getattr(self, key) for key in keys}


@dataclass
class Filter:
    models: list[str] = field(default_factory=list)
    output: str | None = None  # "text" or "image"
    words: str = ""
    since: float | None = None
    until: float | None = None
    favourites: bool = False
    run_id: str | None = None
    comparison_id: str | None = None
    ids: list[str] | None = None


class Store:
    def __init__(self, folder: Path, orphan_grace_s: float = ORPHAN_GRACE_S, recover: bool = True):
        self.orphan_grace_s = orphan_grace_s
        self.folder = Path(folder).expanduser()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.db_path = self.folder / "arena.db"
        self.images = Blobs(self.folder / "images", ".png")
        self.thumbs = Blobs(self.folder / "thumbs", ".webp")
        self._local = threading.local()
        # Threads of this process queue here for the write lock: SQLite's own busy wait sleeps up to 100 ms.
        self._write_lock = threading.Lock()
        migrate(self.connection())
        if recover:
            self.recover()

    # --- connections ---------------------------------------------------------------------------------------

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (each thread has its own)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.db_path, timeout=60, isolation_level=None, check_same_thread=False)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL survives any crash of the process; only a power cut may lose the last commits.
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            self._local.db = db
        return db

    def transaction(self):
        """``with store.transaction() as db:`` one write transaction that waits its turn instead of failing."""
        return _Transaction(self.connection(), self._write_lock)

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # --- writing -------------------------------------------------------------------------------------------

    def start_comparison(self, request: "Request", models: list[str]) -> str:
        comparison_id = new_id()
        image_sha = self.images.put(request.image.png) if request.image is not None else None
        with self.transaction() as db:
            db.execute(
                "INSERT INTO comparisons VALUES (?, ?, ?, ?, ?, ?)",
                (comparison_id, time.time(), scrub(request.prompt), image_sha,
                 _json(request.params.model_dump(exclude_none=True)), _json(models)),
            )
        return comparison_id

    def save_output(self, comparison_id: str, pane: "PaneSnapshot", request: "Request", entry: "ModelEntry",
                    versions: dict[str, str], **lineage) -> OutputRecord:
        """Keep one finished pane: its pictures (with their record inside), a thumbnail, then the record.

        ``versions`` are the libraries that made the output (the caller asks its backend; the store knows none)."""
        clean = scrubber()
        record = OutputRecord(
            id=new_id(), comparison_id=comparison_id, created_at=time.time(), model=pane.model, kind=pane.kind,
            output=pane.output, status=pane.status, prompt=clean(request.prompt),
            input_image=request.image.sha256 if request.image is not None else None,
            text=clean(pane.text), error=clean(pane.error) if pane.error else None, images=[], thumb=None,
            entry=json.loads(clean(entry.model_dump_json())),
            params=request.params.model_dump(exclude_none=True), used=json.loads(clean(_json(pane.used))),
            versions=dict(versions),
            metrics={"ttft_s": pane.ttft_s, "total_s": pane.total_s, "tokens": pane.tokens,
                     "tokens_per_s": pane.tokens_per_s, "steps": pane.steps_done or None,
                     "steps_per_s": pane.steps_per_s},
            notices=[clean(n) for n in pane.notices],
            parent_id=lineage.get("parent_id"), rerun_of=lineage.get("rerun_of"), run_id=lineage.get("run_id"),
            case_id=lineage.get("case_id"), case_hash=lineage.get("case_hash"), sample=lineage.get("sample"),
        )
        return self.save(record, pane.images)

    def save(self, record: OutputRecord, images: Iterable[Image.Image] = ()) -> OutputRecord:
        self._put_pictures(record, list(images), durable=True)
        with self.transaction() as db:
            self._insert(db, record)
        return record

    def save_many(self, records: list[tuple[OutputRecord, list[Image.Image]]]) -> None:
        """Many records in one transaction (imports, benchmarks): files are synced once, before the records."""
        for record, images in records:
            self._put_pictures(record, images, durable=False)
        os.sync()
        with self.transaction() as db:
            for record, _ in records:
                self._insert(db, record)

    def _put_pictures(self, record: OutputRecord, images: list[Image.Image], durable: bool) -> None:
        """The record's pictures (each carrying the record) and their thumbnail, written before the record.

        A text answer's thumbnail is a card drawn from the record itself, so it is drawn when first shown."""
        provenance = record.provenance()
        record.images = [self.images.put(pictures.png_with_record(i, provenance), durable) for i in images]
        if images:
            record.thumb = self.thumbs.put(pictures.thumbnail(images[0]), durable)

    def thumb_paths(self, records: list[OutputRecord]) -> list[Path]:
        """Each record's thumbnail file; text cards not drawn yet are drawn and kept now."""
        drawn = []
        for record in records:
            if record.thumb is None:
                card = pictures.text_card(record.model, record.error or record.text, record.status)
                record.thumb = self.thumbs.put(pictures.thumbnail(card), durable=False)
                drawn.append((record.thumb, record.id))
        if drawn:
            with self.transaction() as db:
                db.executemany("UPDATE outputs SET thumb = ? WHERE id = ?", drawn)
        return [self.thumbs.path(record.thumb) for record in records]

    def ensure_comparison(self, comparison_id: str, prompt: str, created_at: float) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO comparisons VALUES (?, ?, ?, NULL, '{}', '[]')",
                       (comparison_id, created_at, prompt))

    @staticmethod
    def _insert(db: sqlite3.Connection, record: OutputRecord) -> None:
        db.execute(
            "INSERT INTO outputs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (record.id, record.comparison_id, record.created_at, record.model, record.kind, record.output,
             record.status, record.prompt, record.input_image, record.text, record.error, record.thumb,
             _json(record.entry), _json(record.params), _json(record.used), _json(record.versions),
             _json(record.metrics), _json(record.notices), record.parent_id, record.rerun_of, record.run_id,
             int(record.favourite), record.note, record.case_id, record.case_hash, record.sample),
        )
        db.executemany("INSERT INTO output_images VALUES (?, ?, ?)",
                       [(record.id, position, sha) for position, sha in enumerate(record.images)])

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
        thumb_used = self.connection().execute("SELECT 1 FROM outputs WHERE thumb = ?", (row["thumb"],)).fetchone()
        if row["thumb"] and not thumb_used:
            self.thumbs.delete(row["thumb"])
        return True

    def _image_used(self, sha: str) -> bool:
        db = self.connection()
        return bool(db.execute("SELECT 1 FROM output_images WHERE sha = ? LIMIT 1", (sha,)).fetchone()
                    or db.execute("SELECT 1 FROM comparisons WHERE input_image = ? LIMIT 1", (sha,)).fetchone())

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
            marks = ",".join("?" * len(frontier))
            children = [c for c in self._select(f"WHERE o.parent_id IN ({marks}) ORDER BY o.created_at", frontier)
                        if c.id not in seen]
            seen.update(c.id for c in children)
            descendants += children
            frontier = [c.id for c in children]
        return sorted([*ancestors, record, *descendants[:limit]], key=lambda r: r.created_at)

    def reruns(self, record: OutputRecord) -> list[OutputRecord]:
        return self._select("WHERE o.rerun_of = ? ORDER BY o.created_at", [record.id])

    def query(self, where: Filter, page: int = 1, per_page: int = 24) -> tuple[list[OutputRecord], int]:
        """One page of records, newest first, and how many match in all."""
        clauses, values = _where(where)
        condition = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        total = self.connection().execute(f"SELECT COUNT(*) FROM outputs o {condition}", values).fetchone()[0]
        offset = max(0, page - 1) * per_page
        rows = self._select(f"{condition} ORDER BY o.created_at DESC, o.id DESC LIMIT ? OFFSET ?",
                            [*values, per_page, offset])
        return rows, total

    def all(self, where: Filter) -> list[OutputRecord]:
        clauses, values = _where(where)
        condition = ("WHERE " + " AND ".join(clauses)) if clauses else ""
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
        marks = ",".join("?" * len(rows))
        for row in self.connection().execute(
            f"SELECT output_id, sha FROM output_images WHERE output_id IN ({marks}) ORDER BY position",
            [r["id"] for r in rows],
        ):
            images.setdefault(row[0], []).append(row[1])
        return [_record(row, images.get(row["id"], [])) for row in rows]

    # --- upkeep --------------------------------------------------------------------------------------------

    def recover(self, empty_comparison_grace_s: float = EMPTY_COMPARISON_GRACE_S) -> dict:
        """Clean what an interrupted save left: comparisons that never got an output (the process was killed
        while its models ran), partial files, and files no record points to."""
        grace = self.orphan_grace_s
        with self.transaction() as db:
            empty = db.execute(
                "DELETE FROM comparisons WHERE created_at < ? AND NOT EXISTS "
                "(SELECT 1 FROM outputs o WHERE o.comparison_id = comparisons.id)",
                (time.time() - empty_comparison_grace_s,)).rowcount
        partials = self.images.remove_partials(grace) + self.thumbs.remove_partials(grace)
        db = self.connection()
        used_images = {r[0] for r in db.execute("SELECT sha FROM output_images")}
        used_images |= {r[0] for r in db.execute("SELECT input_image FROM comparisons WHERE input_image IS NOT NULL")}
        used_thumbs = {r[0] for r in db.execute("SELECT thumb FROM outputs WHERE thumb IS NOT NULL")}
        orphans = 0
        now = time.time()
        for blobs, used in ((self.images, used_images), (self.thumbs, used_thumbs)):
            for sha in blobs.all() - used:
                path = blobs.path(sha)
                try:
                    if now - path.stat().st_mtime >= self.orphan_grace_s:
                        path.unlink()
                        orphans += 1
                except FileNotFoundError:
                    pass
        return {"partials": partials, "orphans": orphans, "empty_comparisons": empty}


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT: writers queue for the database lock instead of failing with 'locked'."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock):
        self.db = db
        self.lock = lock

    def __enter__(self) -> sqlite3.Connection:
        self.lock.acquire()
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.lock.release()
            raise
        return self.db

    def __exit__(self, exc_type, exc, tb):
        try:
            self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
        finally:
            self.lock.release()
        return False


def parse_day(text: str | None, end_of_day: bool = False) -> float | None:
    """'2026-11-26' as a UTC timestamp (its start, or the start of the next day); empty gives None."""
    from arena.errors import InputError

    text = (text or "").strip()
    if not text:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    except ValueError:
        raise InputError(f"dates look like 2026-11-26, not {text!r}") from None
    return (day + timedelta(days=1 if end_of_day else 0)).timestamp()


def _where(where: Filter) -> tuple[list[str], list]:
    clauses: list[str] = []
    values: list = []
    if where.models:
        clauses.append(f"o.model IN ({','.join('?' * len(where.models))})")
        values += list(where.models)
    if where.output:
        clauses.append("o.output = ?")
        values.append(where.output)
    words = [w for w in where.words.split() if w.strip('"')]
    if words:
        query = " ".join('"' + w.replace('"', '""') + '"' for w in words)
        clauses.append("o.rowid IN (SELECT rowid FROM outputs_prompt WHERE outputs_prompt MATCH ?)")
        values.append(query)
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
        clauses.append(f"o.id IN ({','.join('?' * len(where.ids)) or 'NULL'})")
        values += list(where.ids)
    return clauses, values


def _record(row: sqlite3.Row, images: list[str]) -> OutputRecord:
    return OutputRecord(
        id=row["id"], comparison_id=row["comparison_id"], created_at=row["created_at"], model=row["model"],
        kind=row["kind"], output=row["output"], status=row["status"], prompt=row["prompt"],
        input_image=row["input_image"], text=row["text"], error=row["error"], images=images, thumb=row["thumb"],
        entry=json.loads(row["entry"]), params=json.loads(row["params"]), used=json.loads(row["used"]),
        versions=json.loads(row["versions"]), metrics=json.loads(row["metrics"]), notices=json.loads(row["notices"]),
        parent_id=row["parent_id"], rerun_of=row["rerun_of"], run_id=row["run_id"], favourite=bool(row["favourite"]),
        note=row["note"], case_id=row["case_id"], case_hash=row["case_hash"], sample=row["sample"],
    )


def _json(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def new_id() -> str:
    """Sortable by time, unique without coordination: 12 hex digits of milliseconds, then 8 random ones."""
    return f"{int(time.time() * 1000):012x}{random_source.token_hex(4)}"
