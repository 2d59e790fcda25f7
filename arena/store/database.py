"""The database under the store: SQLite (the file ``arena.db`` in the data folder, or the one a ``sqlite:///`` URL
names) with one connection per thread and write transactions that queue, or PostgreSQL for a ``postgresql://``
URL (arena/store/postgres.py); and the small helpers every query module shares (named-column inserts, JSON
columns). What the engines' SQL differs in is said once, in arena/store/dialects.py."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from arena.store.dialects import SQLITE
from arena.store.schema import MIGRATIONS, migrate


class Database:
    """Opens (and migrates) the database ``url`` names, by default ``arena.db`` in ``folder``."""

    def __init__(self, folder: Path, url: str | None = None):
        engine = engine_of(url)  # a URL that names no database is refused before any folder is made
        self.folder = Path(folder).expanduser()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.database_url = url
        if engine == "postgresql":
            from arena.store.postgres import PostgresDatabase  # psycopg is loaded only for a server

            self.server = PostgresDatabase(url)
            self.dialect = self.server.dialect
            # The server's reads, transactions and close stand in for the SQLite ones below.
            self.connection, self.transaction, self.close = (self.server.connection, self.server.transaction,
                                                             self.server.close)
            self.migrations_applied = self.server.migrate(MIGRATIONS)
            return
        self.server = None
        self.dialect = SQLITE
        self.db_path = sqlite_path(url) or self.folder / "arena.db"
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        # Threads of this process queue here for the write lock: SQLite's own busy wait sleeps up to 100 ms.
        self._write_lock = threading.Lock()
        self.migrations_applied = migrate(self.connection())

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


def engine_of(url: str | None) -> str:
    """``sqlite`` or ``postgresql``, the engine a database URL names (none: SQLite); any other in a sentence."""
    scheme = (url or "sqlite:").split(":", 1)[0].lower()
    if scheme in ("postgresql", "postgres") or scheme.startswith("postgresql+"):
        return "postgresql"
    if scheme == "sqlite":
        if url and sqlite_path(url) is None:  # sqlite://FILE (two slashes) or no file: not what was meant
            from arena.errors import StorageError

            raise StorageError("A SQLite URL names its file after three slashes: sqlite:///relative/arena.db or "
                               "sqlite:////absolute/arena.db.")
        return "sqlite"
    from arena.errors import StorageError

    # Only the scheme is repeated: the rest of a URL may hold a password.
    what = f"Unsupported database URL scheme {scheme[:20]!r}" if ":" in str(url) else "Not a database URL"
    raise StorageError(f"{what}: use sqlite:///FILE or postgresql://USER@HOST/NAME.")


def sqlite_path(url: str | None) -> Path | None:
    """The file a ``sqlite:///relative.db`` or ``sqlite:////absolute.db`` URL names (``~`` expanded)."""
    if not url or not url.lower().startswith("sqlite:///"):
        return None
    path = url[len("sqlite:///"):].split("?", 1)[0]
    return Path(path).expanduser() if path else None


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


def insert(db, table: str, row: dict, on_conflict: str | None = None) -> int:
    """One row, its columns named; ``on_conflict`` ``ignore`` keeps a row already there, ``replace`` overwrites
    it. How many rows it added (0 where one was kept)."""
    return db.execute(dialect_of(db).insert(table, list(row), on_conflict), list(row.values())).rowcount


def insert_many(db, table: str, rows: list[dict], on_conflict: str | None = None) -> int:
    """Rows that all have the same columns, named; how many were added."""
    if not rows:
        return 0
    columns = list(rows[0])
    return db.executemany(dialect_of(db).insert(table, columns, on_conflict),
                          [[row[c] for c in columns] for row in rows]).rowcount


def dialect_of(db):
    """The dialect of a connection: a PostgreSQL session says its own, ``sqlite3`` cannot carry one."""
    return getattr(db, "dialect", SQLITE)


def marks(values) -> str:
    """``?, ?, ?`` for an IN list (``NULL`` for none, which matches nothing)."""
    return ",".join("?" * len(values)) or "NULL"


def to_json(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
