"""The gallery's storage: records and their filter (records), the database and its transactions (database),
comparisons and outputs (outputs), suite runs and their cells (runs), clean-up after a crash (recovery), all
brought together as ``Store`` (store). Pictures live in content-addressed files (blobs, pictures)."""

from arena.store.records import Filter, OutputRecord, new_id
from arena.store.runs import Run, RunCell
from arena.store.store import Store, open_store

__all__ = ["Filter", "OutputRecord", "Run", "RunCell", "Store", "new_id", "open_store"]
