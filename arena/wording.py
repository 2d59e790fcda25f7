"""Words shared by what Arena says, in the shell and on the page."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``1 vote``, ``2 votes``; ``plural`` where adding an s is wrong."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
