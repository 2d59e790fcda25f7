"""The SQLite database under the store: one connection per thread, write transactions that queue, and the
small helpers every query module shares (named-column inserts, JSON columns)."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from arena.store.schema import migrate


class Database:
    """Opens (and migrates) ``arena.db`` in ``folder``; each thread gets its own connection."""

    def __init__(self, folder: Path, url: str | None = None):
        if url is not None and not url.startswith("sqlite:"):
            raise ValueError(f"unsupported database URL {url.split(':')[0]}:… (only SQLite so far)")
        self.folder = Path(folder).expanduser()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.db_path = self.folder / "arena.db"
        self._local = threading.local()
        # Threads of this process queue here for the write lock: SQLite's own busy wait sleeps up to 100 ms.
        self._write_lock = threading.Lock()
        migrate(self.connection())

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

    def transaction(self) -> Transaction:
        """``with store.transaction() as db:`` one write transaction that waits its turn instead of failing."""
        return Transaction(self.connection(), self._write_lock)

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None


class Transaction:
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


def insert(db: sqlite3.Connection, table: str, row: dict, verb: str = "INSERT") -> None:
    """One row, its columns named (``verb`` may be ``INSERT OR IGNORE`` / ``INSERT OR REPLACE``)."""
    db.execute(f"{verb} INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values()))


def insert_many(db: sqlite3.Connection, table: str, rows: list[dict]) -> None:
    """Rows that all have the same columns, named."""
    if rows:
        columns = list(rows[0])
        db.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                       [[row[c] for c in columns] for row in rows])


def marks(values) -> str:
    """``?, ?, ?`` for an IN list (``NULL`` for none, which matches nothing)."""
    return ",".join("?" * len(values)) or "NULL"


def to_json(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
