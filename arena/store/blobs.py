"""Content-addressed files: the name is the sha256 of the bytes, so the same bytes are stored once.

Every write goes to a temporary file in the same folder, is fsynced, then renamed into place: a file under its
final name is always whole.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path

TEMP_PREFIX = ".partial-"


class Blobs:
    def __init__(self, root: Path, suffix: str):
        self.root = root
        self.suffix = suffix
        root.mkdir(parents=True, exist_ok=True)

    def path(self, sha: str) -> Path:
        if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            raise ValueError(f"not a sha256: {sha!r}")
        return self.root / sha[:2] / f"{sha}{self.suffix}"

    def put(self, data: bytes, durable: bool = True) -> str:
        """Store ``data``; with ``durable=False`` the caller syncs the disk itself before relying on it."""
        sha = hashlib.sha256(data).hexdigest()
        final = self.path(sha)
        if final.exists():
            try:  # young again: the clean-up of orphans must not take it while its new record is written
                os.utime(final)
                return sha
            except FileNotFoundError:
                pass  # the clean-up took it just now: write it again
        final.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=final.parent)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                if durable:
                    os.fsync(handle.fileno())
            os.replace(temporary, final)
            if durable:
                _fsync_folder(final.parent)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return sha

    def read(self, sha: str) -> bytes:
        return self.path(sha).read_bytes()

    def exists(self, sha: str) -> bool:
        return self.path(sha).exists()

    def delete(self, sha: str) -> None:
        self.path(sha).unlink(missing_ok=True)

    def delete_if_older(self, sha: str, older_than_s: float) -> bool:
        """Delete the file if it was written at least ``older_than_s`` ago (a younger one may be a save under way,
        its record not written yet); True if it was deleted."""
        path = self.path(sha)
        try:
            if time.time() - path.stat().st_mtime < older_than_s:
                return False
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def all(self) -> set[str]:
        return {p.name[: -len(self.suffix)] for p in self.root.glob(f"??/*{self.suffix}") if len(p.stem) == 64}

    def remove_partials(self, older_than_s: float = 0) -> int:
        """Delete what interrupted writes left behind (not younger than ``older_than_s``: writes under way)."""
        removed = 0
        now = time.time()
        for leftover in self.root.glob(f"??/{TEMP_PREFIX}*"):
            try:
                if now - leftover.stat().st_mtime >= older_than_s:
                    leftover.unlink()
                    removed += 1
            except FileNotFoundError:
                pass
        return removed


def _fsync_folder(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
