"""A throwaway PostgreSQL server for tests: ``initdb`` into a temporary folder, ``pg_ctl start`` on a free loopback
port (and a unix socket in that folder), a password-protected role ``arena``, a fresh database per test; stopped
and removed at the end of the session. initdb refuses to run as root, so as root the server runs as the
``postgres`` system user (Debian's package makes it).

Fixtures (import them into a test module): ``postgres`` (the session's server), ``database_url`` (parametrised:
``None`` for SQLite, a fresh PostgreSQL database's URL), ``postgres_url`` (a fresh PostgreSQL database only).
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.helpers import Restartable, free_port

PASSWORD = "s3cret-pg-pass-9f2c"  # the tests check it never shows in a message


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


BIN = _binaries()


class PostgresServer(Restartable):
    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.folder = Path(tempfile.mkdtemp(prefix="arena-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.user = None if os.geteuid() != 0 else "postgres"
        self._numbers = itertools.count(1)
        if self.user:
            try:
                entry = pwd.getpwnam(self.user)
            except KeyError:  # binaries without Debian's package, which makes the user
                subprocess.run(["useradd", "--system", "--no-create-home", self.user], check=True)
                entry = pwd.getpwnam(self.user)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        self._as_owner("initdb", "-D", str(self.data), "-U", "postgres", "--auth-local=trust",
                       "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                       f"unix_socket_directories = '{self.folder}'\nfsync = off\nmax_connections = 200\n")
        self.start()
        self.admin(f"CREATE ROLE arena LOGIN CREATEDB PASSWORD '{PASSWORD}'")

    def _as_owner(self, program: str, *args: str) -> subprocess.CompletedProcess:
        command = [str(self.bindir / program), *args]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, cwd=self.folder)

    def start(self) -> None:
        self._as_owner("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"), "-w", "-t", "60",
                       "start")

    def stop(self) -> None:
        """As if it crashed: no clean shutdown."""
        self._as_owner("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def admin(self, sql: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(host=str(self.folder), port=self.port, user="postgres", dbname=database,
                             autocommit=True) as connection:
            connection.execute(sql)

    def url(self, database: str) -> str:
        return f"postgresql://arena:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def fresh_database(self) -> str:
        """A new empty database owned by ``arena``: its URL, password included."""
        name = f"arena_test_{next(self._numbers)}"
        self.admin(f"CREATE DATABASE {name} OWNER arena")
        return self.url(name)

    def remove(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # stopped already
        shutil.rmtree(self.folder, ignore_errors=True)



@pytest.fixture(scope="session")
def postgres():
    if BIN is None:
        pytest.skip("PostgreSQL is not installed (Debian's postgresql package; tests/run.sh installs it)")
    server = PostgresServer(BIN)
    yield server
    server.remove()


@pytest.fixture
def postgres_url(postgres) -> str:
    return postgres.fresh_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request) -> str | None:
    """Each test that takes it runs twice: on the SQLite file (None) and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("postgres").fresh_database()


@pytest.fixture
def another_database(request, database_url):
    """Makes one more empty database of the same engine as ``database_url`` (None: SQLite in its folder)."""
    if database_url is None:
        return lambda: None
    return request.getfixturevalue("postgres").fresh_database
