"""``Store``: the gallery's storage, SQLite (WAL) for records and content-addressed files for pictures.

Pictures are written first (atomically), then the record in one transaction, so a record never points to a
missing file; what an interrupted save leaves behind is cleaned when the store opens. Every query lives in the
modules this class is made of, so a second database engine plugs in here.
"""

from __future__ import annotations

from pathlib import Path

from arena.store.blobs import Blobs
from arena.store.database import Database
from arena.store.outputs import Outputs
from arena.store.recovery import ORPHAN_GRACE_S, Recovery
from arena.store.runs import Runs


class Store(Outputs, Runs, Recovery, Database):
    def __init__(self, folder: Path, orphan_grace_s: float = ORPHAN_GRACE_S, recover: bool = True):
        self.orphan_grace_s = orphan_grace_s
        super().__init__(folder)
        self.images = Blobs(self.folder / "images", ".png")
        self.thumbs = Blobs(self.folder / "thumbs", ".webp")
        if recover:
            self.recover()
