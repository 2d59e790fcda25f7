"""Where an output comes from, recorded with it in the gallery."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Lineage:
    """The output this one follows (a conversation's or a chain's previous answer) or reruns, the suite run
    cell it answers (run, case, the case's hash, sample number), and the blind battle it is a side of."""

    parent_id: str | None = None
    rerun_of: str | None = None
    run_id: str | None = None
    case_id: str | None = None
    case_hash: str | None = None
    sample: int | None = None
    battle_id: str | None = None


NO_LINEAGE = Lineage()  # an output that follows nothing
