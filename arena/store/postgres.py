"""The store's database on a PostgreSQL server (``postgresql://user:password@host:port/name``), through psycopg 3
and a pool of connections per process (psycopg_pool), imported only when such a URL is given.

The query modules talk to it as to ``sqlite3``: ``connection().execute(sql, values)`` for reads and
``with transaction() as db:`` for writes, ``?`` placeholders, rows read by name or position. A server that is down
or unreachable answers within seconds (short connect and pool timeouts) with one ``StorageError`` sentence that
names the server but never its password; the pool reconnects by itself once the server is back.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from contextlib import contextmanager
from typing import Iterator
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from arena.errors import StorageError
from arena.store.dialects import POSTGRES
from arena.store.schema import refuse_newer

# The pool's own warnings repeat what each failed statement says in its StorageError.
logging.getLogger("psycopg.pool").setLevel(logging.ERROR)

CONNECT_TIMEOUT_S = 3
# How long a query waits for a free (or newly made) connection before the save is said to have failed.
POOL_TIMEOUT_S = 5
POOL_SIZE = 16
# Taken by every process that migrates: one at a time, the others then find the work done.
MIGRATION_LOCK = 0x41524E41  # "ARNA"


# What libpq says when it reached the server and was turned away (not a network failure).
LOGIN_REFUSED = re.compile(r"password authentication failed|no password supplied|does not exist|permission denied|"
                           r"no pg_hba\.conf entry")


def where(url: str) -> str:
    """The server and database a URL names, with no user secret: ``postgresql://arena@db:5432/arena``."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return f"postgresql://{user}{host}{port}{parts.path}"


class PostgresDatabase:
    dialect = POSTGRES

    def __init__(self, url: str):
        self.url = re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", url)  # as libpq spells it
        self.name = where(url)
        password = urlsplit(url).password
        self._secrets = [p for p in {password, unquote(password or "")} if p]
        self._pid = os.getpid()
        self.pool = self._open_pool()

    def _open_pool(self) -> ConnectionPool:
        try:  # one plain connection first: a server that is down or refuses says why, at once
            psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT_S).close()
        except psycopg.Error as error:
            raise StorageError(self._sentence(error)) from None
        pool = ConnectionPool(self.url, min_size=1, max_size=POOL_SIZE, timeout=POOL_TIMEOUT_S, open=False,
                              kwargs={"connect_timeout": CONNECT_TIMEOUT_S, "autocommit": True,
                                      "row_factory": _rows},
                              check=ConnectionPool.check_connection, reconnect_timeout=0,
                              name="arena-store")
        try:
            pool.open(wait=True, timeout=POOL_TIMEOUT_S)
        except PoolTimeout as error:
            pool.close(timeout=0)
            raise StorageError(self._sentence(error)) from None
        return pool

    @contextmanager
    def _borrowed(self) -> Iterator[psycopg.Connection]:
        if os.getpid() != self._pid:  # a forked child: the parent's sockets are not ours to use
            self._pid, self.pool = os.getpid(), self._open_pool()
        try:
            with self.pool.connection() as connection:
                yield connection
        except (psycopg.Error, PoolTimeout) as error:
            raise StorageError(self._sentence(error)) from None

    def connection(self) -> _Reader:
        """Reads outside a transaction: each statement borrows a pooled connection and returns it at once."""
        return _Reader(self)

    @contextmanager
    def transaction(self) -> Iterator[_Session]:
        with self._borrowed() as connection, connection.transaction():
            yield _Session(connection)

    def migrate(self, migrations) -> int:
        """Apply the migrations not applied yet, each process waiting its turn on an advisory lock; how many this
        call applied."""
        with self._borrowed() as connection, connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            connection.execute("CREATE TABLE IF NOT EXISTS migrations (number INTEGER PRIMARY KEY, "
                               "name TEXT NOT NULL)")
            done = {row[0] for row in connection.execute("SELECT number FROM migrations")}
            refuse_newer(done)
            todo = [(number, migration) for number, migration in enumerate(migrations, start=1) if number not in done]
            for number, migration in todo:
                connection.execute(migration.postgres)
                connection.execute("INSERT INTO migrations VALUES (%s, %s)", (number, migration.name))
            return len(todo)

    def close(self) -> None:
        self.pool.close(timeout=1)

    def _sentence(self, error: BaseException) -> str:
        if isinstance(error, (PoolTimeout, psycopg.OperationalError)) and not isinstance(
                error, psycopg.errors.QueryCanceled):
            detail = _first_line(error) if not isinstance(error, PoolTimeout) else ""
            if isinstance(error, PoolTimeout) or not detail:
                detail = f"no connection within {POOL_TIMEOUT_S} s"
            reached = LOGIN_REFUSED.search(detail)  # the server answered, and said no to this role or database
            message = f"The database {self.name} {'refused the login' if reached else 'cannot be reached'} ({detail})."
        else:
            diag = getattr(error, "diag", None)
            detail = getattr(diag, "message_primary", None) or _first_line(error) or type(error).__name__
            message = f"The database {self.name} refused a statement: {detail}."
        for secret in self._secrets:
            message = message.replace(secret, "***")
        return message


class _Session:
    """One pooled connection inside a transaction, spoken to as ``sqlite3.Connection``."""

    dialect = POSTGRES

    def __init__(self, connection: psycopg.Connection):
        self.connection = connection

    def execute(self, sql: str, values=None) -> psycopg.Cursor:
        cursor = self.connection.cursor()
        if values is None:
            return cursor.execute(sql)
        return cursor.execute(_placeholders(sql), values)

    def executemany(self, sql: str, rows) -> psycopg.Cursor:
        cursor = self.connection.cursor()
        cursor.executemany(_placeholders(sql), list(rows))
        return cursor


class _Reader:
    """``connection()`` on PostgreSQL: every statement runs on a pooled connection and comes back read."""

    def __init__(self, database: PostgresDatabase):
        self.database = database

    def execute(self, sql: str, values=None) -> _Result:
        with self.database._borrowed() as connection:
            cursor = _Session(connection).execute(sql, values)
            return _Result(cursor.fetchall() if cursor.description else [], cursor.rowcount)


class _Result:
    def __init__(self, rows: list, rowcount: int):
        self.rows, self.rowcount = rows, rowcount

    def fetchone(self):
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list:
        return self.rows

    def __iter__(self):
        return iter(self.rows)


@functools.lru_cache(maxsize=1024)
def _placeholders(sql: str) -> str:
    """sqlite3's ``?`` as psycopg's ``%s`` (a literal ``%`` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


@functools.lru_cache(maxsize=256)
def _row_type(names: tuple[str, ...]) -> type:
    index = {name: i for i, name in enumerate(names)}

    def item(row, key):
        return tuple.__getitem__(row, index[key] if isinstance(key, str) else key)

    return type("Row", (tuple,), {"__slots__": (), "__getitem__": item, "keys": lambda row: list(names)})


def _rows(cursor):
    """Rows read by column name or by position, as ``sqlite3.Row``."""
    if cursor.description is None:
        return tuple
    return _row_type(tuple(column.name for column in cursor.description))


def _first_line(error: BaseException) -> str:
    """The reason in an error's first line (``connection to server at … failed: Connection refused`` says
    ``Connection refused``)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    reason = lines[0].rsplit(" failed: ", 1)[-1] if lines else ""
    return re.sub(r"\s+", " ", reason).rstrip(".")[:200]
