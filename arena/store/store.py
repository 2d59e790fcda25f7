"""``Store``: the gallery's storage, a database for records (SQLite by default) and content-addressed files for
pictures (a folder by default).

Pictures are written first (atomically), then the record in one transaction, so a record never points to a
missing file; what an interrupted save leaves behind is cleaned when the store opens. Every query lives in the
modules this class is made of, so a second database engine plugs in here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from arena.store.blobs import Blobs
from arena.store.database import Database
from arena.store.outputs import Outputs
from arena.store.recovery import ORPHAN_GRACE_S, Recovery
from arena.store.runs import Runs

if TYPE_CHECKING:
    from arena.settings import Settings
    from arena.store.object_storage import ObjectBlobs


class Store(Outputs, Runs, Recovery, Database):
    def __init__(self, folder: Path, orphan_grace_s: float = ORPHAN_GRACE_S, recover: bool = True,
                 database_url: str | None = None, storage: str = "local"):
        self.orphan_grace_s = orphan_grace_s
        super().__init__(folder, database_url)
        self.images, self.thumbs = picture_stores(storage, self.folder)
        if recover:
            self.recover()


def picture_stores(storage: str, folder: Path) -> tuple[Blobs, Blobs] | tuple["ObjectBlobs", "ObjectBlobs"]:
    """Where pictures and thumbnails live: ``local`` folders under the data folder, or an ``s3`` bucket (set by
    ARENA_S3_*, read through a cache folder under the data folder; arena.store.object_storage says why)."""
    if storage == "local":
        return Blobs(folder / "images", ".png"), Blobs(folder / "thumbs", ".webp")
    if storage == "s3":
        from arena.store.object_storage import bucket_stores  # boto3 is loaded only for a bucket

        return bucket_stores(folder)
    raise ValueError(f"unknown picture storage {storage!r} (local or s3)")


def served_folders(folder: Path) -> list[Path]:
    """The folders under the data folder whose files browsers may fetch: pictures and thumbnails, and the bucket's
    local copies (only pictures are ever written there)."""
    from arena.store.object_storage import CACHE_FOLDER

    return [folder / "images", folder / "thumbs", folder / CACHE_FOLDER]


def open_store(settings: "Settings", recover: bool | None = None) -> Store:
    """The store these settings name (database URL, picture storage, data folder). ``recover`` by default only
    where pictures are in folders: a bucket's clean-up lists every picture in it, which the app does in the
    background at its start, and a CLI command should not wait for."""
    if recover is None:
        recover = settings.storage == "local"
    return Store(settings.data_dir, recover=recover, database_url=settings.database_url, storage=settings.storage)
