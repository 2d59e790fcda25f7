"""Named users: who may sign in to the web app, kept in a TOML file with salted argon2id password hashes.

    [users.alice]
    hash = "$argon2id$v=19$m=65536,t=3,p=4$…"
    vote_cap = 50        # optional: the most battle votes alice may cast a day (else ARENA_VOTE_CAP_PER_DAY)

``python -m arena users add|remove|list`` edits the file (written whole, atomically, readable by its owner only);
the app re-reads it when it changes, so a user added while it runs can sign in at once.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import tempfile
import threading
import time
import tomllib
from collections import OrderedDict
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import anyio
import tomlkit
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from arena.errors import InputError

log = logging.getLogger(__name__)

FILE_NAME = "users.toml"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
NAME_RULE = "1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit"
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
CHECKS_AT_ONCE = 4  # password checks running together (each holds argon2's 64 MiB for a moment)

HASHER = PasswordHasher()  # argon2id, RFC 9106's low-memory parameters, a random 16-byte salt per hash

# Wrong passwords a name may have in a row before it must wait; each further one doubles the wait, up to the longest.
FREE_ATTEMPTS = 5
FIRST_WAIT_S = 30.0
LONGEST_WAIT_S = 15 * 60.0
REMEMBERED_NAMES = 10_000
SIGN_IN_MESSAGE = (f"Sign in with your Arena user name and password. After {FREE_ATTEMPTS} wrong passwords in a row, "
                   f"a name must wait before it can sign in again ({FIRST_WAIT_S:.0f}\u00a0s at first).")


@dataclass(frozen=True)
class User:
    name: str
    hash: str = field(repr=False)
    vote_cap: int | None = None


def default_file(data_dir: Path) -> Path:
    """ARENA_USERS_FILE, else DATA_DIR/users.toml."""
    named = os.environ.get("ARENA_USERS_FILE")
    return Path(named).expanduser() if named else Path(data_dir).expanduser() / FILE_NAME


def for_app(named: str | Path | None, shared_login: str | None, data_dir: Path) -> UsersFile | None:
    """The users file the web app signs people in with: ``named`` (--users, ARENA_USERS_FILE), else
    DATA_DIR/users.toml where it exists; None where nobody signs in by name. SystemExit, in a sentence, for a
    file that is missing or holds no one, or beside --auth (one way to sign in: the file can hold a shared name)."""
    if named is not None and not str(named).strip():  # `--users "$ARENA_USERS_FILE"` with the variable unset
        raise SystemExit("arena: --users was given an empty path (is ARENA_USERS_FILE set?); Arena will not start "
                         "without the sign-in it was asked for")
    path = Path(named).expanduser() if named else Path(data_dir).expanduser() / FILE_NAME
    if not named and not path.is_file():
        return None
    if shared_login:
        raise SystemExit(f"arena: both --auth (ARENA_AUTH) and the users file {path} say who may sign in; use one "
                         "(a shared login can be a user in the file: python -m arena users add NAME)")
    users = UsersFile(path)
    try:
        listed = users.users()
    except InputError as error:
        raise SystemExit(f"arena: {error}") from None
    if not listed:
        raise SystemExit(f"arena: no users in {path}: add one with `python -m arena users add NAME --file {path}`")
    return users


class SignInThrottle:
    """Wrong passwords per name, known or not: after FREE_ATTEMPTS in a row, the name is refused without a check
    for FIRST_WAIT_S, doubled with each further wrong password up to LONGEST_WAIT_S; a right one clears it. Each
    app process counts its own (behind several replicas an attacker gets that many times the attempts)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._wrong: OrderedDict[str, tuple[int, float]] = OrderedDict()  # name → (wrong in a row, refused until)

    def allowed(self, name: str) -> bool:
        with self._lock:
            return self._clock() >= self._wrong.get(_key(name), (0, 0.0))[1]

    def failed(self, name: str) -> None:
        with self._lock:
            count = self._wrong.pop(_key(name), (0, 0.0))[0] + 1
            wait = min(LONGEST_WAIT_S, FIRST_WAIT_S * 2 ** (count - FREE_ATTEMPTS)) if count >= FREE_ATTEMPTS else 0
            self._wrong[_key(name)] = (count, self._clock() + wait)
            while len(self._wrong) > REMEMBERED_NAMES:
                self._wrong.popitem(last=False)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._wrong.pop(_key(name), None)


def _key(name: str) -> str:
    return (name or "").strip().lower()


def gradio_auth(users: UsersFile, throttle: SignInThrottle | None = None):
    """Gradio's ``auth`` callable: the password checked against the file, off the event loop (argon2 takes a
    moment and 64 MiB on purpose), a few at a time however many sign-ins arrive at once, and not at all for a name
    that has had too many wrong passwords lately (Gradio's page then says "Incorrect credentials", as for any
    refusal; SIGN_IN_MESSAGE above the form tells the rule)."""
    throttle = throttle or SignInThrottle()
    limiter: anyio.CapacityLimiter | None = None

    def check(username: str, password: str) -> bool:
        if not throttle.allowed(username):
            log.warning("a sign-in was refused unchecked: too many wrong passwords for that name lately")
            return False
        right = users.verify(username, password)
        (throttle.succeeded if right else throttle.failed)(username)
        return right

    async def auth(username: str, password: str) -> bool:
        nonlocal limiter
        limiter = limiter or anyio.CapacityLimiter(CHECKS_AT_ONCE)
        return await anyio.to_thread.run_sync(check, username, password, limiter=limiter)

    return auth


class SignOutOnChange:
    """ASGI middleware: a user taken out of the users file, or given a new password, is signed out at the next
    request (Gradio keeps each sign-in as token → name in its app's ``tokens``, and never asks again)."""

    def __init__(self, app, users: UsersFile):
        self.app = app
        self.users = users
        self._hashes: dict[str, str] | None = None
        self._seen: tuple | None = None

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            self._revoke(getattr(scope.get("app"), "tokens", None))
        await self.app(scope, receive, send)

    def _revoke(self, tokens: dict | None) -> None:
        try:
            users = self.users.users()  # a stat; the file is parsed again only when it changed
        except InputError:
            return
        if self.users.seen == self._seen:
            return
        hashes = {name: user.hash for name, user in users.items()}
        new_password = {name for name, hashed in (self._hashes or {}).items()
                        if hashes.get(name, hashed) not in (hashed, self.users.rehashed.get(name))}
        self._hashes, self._seen = hashes, self.users.seen
        for token, name in list((tokens or {}).items()):
            if name not in hashes or name in new_password:
                tokens.pop(token, None)


def check_name(name: str) -> str:
    name = (name or "").strip()
    if not NAME.fullmatch(name):
        raise InputError(f"A user name is {NAME_RULE} (not {name[:40]!r}).")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InputError(f"A password needs at least {MIN_PASSWORD} characters.")
    if len(password) > MAX_PASSWORD:
        raise InputError(f"A password has at most {MAX_PASSWORD} characters.")
    return password


def hash_password(password: str) -> str:
    return HASHER.hash(check_password(password))


class UsersFile:
    """The users file at ``path``: read (again whenever it changes), changed and written back whole."""

    def __init__(self, path: Path):
        self.path = Path(path).expanduser()
        self._lock = threading.Lock()
        self._seen: tuple | None = None  # (inode, size, mtime) of the copy in _users
        self._users: dict[str, User] = {}
        self._dummy: str | None = None
        self.rehashed: dict[str, str] = {}  # name → the stronger hash this process gave them (not a new password)

    # --- reading ---------------------------------------------------------------------------------------------

    @property
    def seen(self) -> tuple | None:
        """(inode, size, mtime) of the copy last read: changes whenever the file does."""
        with self._lock:
            return self._seen

    def users(self) -> dict[str, User]:
        """Every user by name, as the file says now; a missing file holds none."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return {}
        seen = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        with self._lock:
            if seen != self._seen:
                self._users, self._seen = self._read(), seen
            return dict(self._users)

    def _read(self) -> dict[str, User]:
        try:
            data = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise InputError(f"Cannot read the users file {self.path}: {error}") from None
        table = data.get("users", {})
        if not isinstance(table, dict):
            raise InputError(f"The users file {self.path} needs a [users.NAME] table per user.")
        users = {}
        for name, entry in table.items():
            if not NAME.fullmatch(name) or not isinstance(entry, dict) or not isinstance(entry.get("hash"), str):
                raise InputError(f"The users file {self.path}: user {name[:40]!r} needs a valid name and a hash "
                                 "(add users with `python -m arena users add NAME`).")
            cap = entry.get("vote_cap")
            if cap is not None and (not isinstance(cap, int) or isinstance(cap, bool) or cap < 1):
                raise InputError(f"The users file {self.path}: {name}'s vote_cap must be a whole number ≥ 1.")
            users[name] = User(name, entry["hash"], cap)
        return users

    def vote_cap(self, name: str) -> int | None:
        """This user's own daily vote cap, if the file gives one."""
        try:
            user = self.users().get(name)
        except InputError:
            return None
        return user.vote_cap if user else None

    def verify(self, name: str, password: str) -> bool:
        """Whether ``password`` is ``name``'s. Unknown names cost as much time as known ones; a file that became
        unreadable keeps the last good copy."""
        try:
            users = self.users()
        except InputError as error:
            log.warning("%s; keeping the users read before", error)
            with self._lock:
                users = dict(self._users)
        user = users.get((name or "").strip())
        if user is None:
            self._verify(self._dummy_hash(), password)
            return False
        if not self._verify(user.hash, password):
            return False
        if HASHER.check_needs_rehash(user.hash):
            self._rehash(user, password)
        return True

    def _rehash(self, user: User, password: str) -> None:
        """A hash made with weaker parameters than today's is replaced at a good sign-in, where the file can be
        written (a read-only one is left as it is)."""
        try:
            with self._editing():
                users = self.users()
                if users.get(user.name) == user:
                    users[user.name] = replace(user, hash=HASHER.hash(password))
                    self.rehashed[user.name] = users[user.name].hash
                    self._write(users)
        except (OSError, InputError) as error:
            log.info("kept %s's older password hash: %s", user.name, error)

    @staticmethod
    def _verify(hashed: str, password: str) -> bool:
        try:
            return HASHER.verify(hashed, password or "")
        except (VerificationError, InvalidHashError):
            return False

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = HASHER.hash("no such user, same work")
        return self._dummy

    # --- changing --------------------------------------------------------------------------------------------

    def add(self, name: str, password: str, vote_cap: int | None = None) -> bool:
        """Add the user, or give an existing one a new password (and cap, else they keep theirs); True when the
        name is new."""
        name = check_name(name)
        if vote_cap is not None and vote_cap < 1:
            raise InputError("A vote cap is a whole number ≥ 1.")
        hashed = hash_password(password)
        with self._editing():
            users = self.users()
            new = name not in users
            kept_cap = None if new else users[name].vote_cap
            users[name] = User(name, hashed, vote_cap if vote_cap is not None else kept_cap)
            self._write(users)
        return new

    def remove(self, name: str) -> None:
        with self._editing():
            users = self.users()
            if name not in users:
                raise InputError(f"No user {name[:64]!r} in {self.path}.")
            del users[name]
            self._write(users)

    @contextmanager
    def _editing(self):
        """Hold the file's lock (a file beside it) while its users are read, changed and written back, so that
        two editors (two `users add`, the app rehashing) never lose each other's change."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(self.path.with_name(f".{self.path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield
        finally:
            os.close(handle)

    def _write(self, users: dict[str, User]) -> None:
        """The whole file anew: a temporary file beside it (mode 0600), flushed, then renamed over it."""
        document = tomlkit.document()
        document.add(tomlkit.comment("Arena's users: edit with `python -m arena users add|remove|list`."))
        table = tomlkit.table(is_super_table=True)
        for user in sorted(users.values(), key=lambda u: u.name):
            entry = tomlkit.table()
            entry["hash"] = user.hash
            if user.vote_cap is not None:
                entry["vote_cap"] = user.vote_cap
            table[user.name] = entry
        document["users"] = table
        handle, temporary = tempfile.mkstemp(prefix=".users-", suffix=".toml", dir=self.path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(tomlkit.dumps(document))
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
