"""Copy one Arena's store into another (a laptop's SQLite file and picture folder into a team's PostgreSQL server
and bucket): pictures first, then rows table by table in batches, each row added only where its key is not there
yet, so a copy that was interrupted is simply run again. Counts are compared at the end."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from arena.store.database import insert_many
from arena.store.dialects import COMPUTED, PRIMARY_KEYS

if TYPE_CHECKING:
    from arena.store import Store

# In the order foreign keys need: a row's parent is copied before it.
TABLES = ("comparisons", "outputs", "output_images", "runs", "run_cells", "votes", "vote_images")
BATCH = 500


@dataclass
class Copied:
    """What one table (or picture kind) holds on each side after the copy, and how much this run added."""

    name: str
    source: int
    target: int
    added: int

    @property
    def complete(self) -> bool:
        return self.target >= self.source


# progress(name, total) gives a function that is told how many more items are done
Progress = Callable[[str, int], Callable[[int], None]]


def _quiet(name: str, total: int) -> Callable[[int], None]:
    return lambda done: None


def copy_store(source: "Store", target: "Store", progress: Progress = _quiet) -> list[Copied]:
    """Copy what ``target`` lacks of ``source``: pictures, then every table's rows; per table and picture kind,
    the counts on both sides."""
    result = [_copy_pictures(name, getattr(source, name), getattr(target, name), progress)
              for name in ("images", "thumbs")]
    for table in TABLES:
        result.append(_copy_table(table, source, target, progress))
    return result


def _copy_pictures(name: str, source_blobs, target_blobs, progress: Progress) -> Copied:
    wanted = source_blobs.all()
    missing = sorted(wanted - target_blobs.all())
    advance = progress(name, len(missing))
    for sha in missing:
        stored = target_blobs.put(source_blobs.read(sha), durable=False)
        if stored != sha:
            raise ValueError(f"the picture {sha} in the source does not match its name (read as {stored})")
        advance(1)
    return Copied(name, len(wanted), len(target_blobs.all()), len(missing))


def _copy_table(table: str, source: "Store", target: "Store", progress: Progress) -> Copied:
    total = _count(source, table)
    advance = progress(table, total)
    key = ", ".join(PRIMARY_KEYS[table])
    added = 0
    for offset in range(0, total, BATCH):
        rows = source.connection().execute(
            f"SELECT * FROM {table} ORDER BY {key} LIMIT ? OFFSET ?", (BATCH, offset)).fetchall()
        computed = COMPUTED.get(table, frozenset())
        batch = [{name: row[name] for name in row.keys() if name not in computed} for row in rows]
        with target.transaction() as db:
            if table == "vote_images":
                added += _add_vote_images(db, batch)
            else:
                added += insert_many(db, table, batch, "ignore")
        advance(len(batch))
    return Copied(table, total, _count(target, table), added)


def _add_vote_images(db, rows: list[dict]) -> int:
    """vote_images has no key of its own: a pair (vote, picture) is added where it is not there (a copied vote's
    trigger adds the pictures its outputs still have)."""
    added = 0
    for row in rows:
        if not db.execute("SELECT 1 FROM vote_images WHERE vote_id = ? AND sha = ?",
                          (row["vote_id"], row["sha"])).fetchone():
            added += insert_many(db, "vote_images", [row])
    return added


def _count(store: "Store", table: str) -> int:
    return store.connection().execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
