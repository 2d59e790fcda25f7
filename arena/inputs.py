"""Reading what a user typed (CLI options, form fields) into the values the library takes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from arena.errors import InputError

DATE_EXAMPLE = "2026-11-01"


def parse_day(text: str | None, end_of_day: bool = False) -> float | None:
    """'2026-11-01' as a UTC timestamp (its start, or the start of the next day); empty gives None."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    except ValueError:
        raise InputError(f"dates look like {DATE_EXAMPLE}, not {text!r}") from None
    return (day + timedelta(days=1 if end_of_day else 0)).timestamp()
