"""Times as integer microseconds since 1970-01-01 UTC: exact, comparable whatever a time's offset, and cheap to
send to and read from the database (a number instead of a timestamp's text or Python conversion)."""

from __future__ import annotations

import datetime as dt

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ONE = dt.timedelta(microseconds=1)


def to_micros(moment: dt.datetime) -> int:
    """An aware time as microseconds since the epoch."""
    return (moment - EPOCH) // _ONE


def from_micros(micros: int) -> dt.datetime:
    """Microseconds since the epoch as an aware UTC time (OverflowError beyond the years 1-9999)."""
    return EPOCH + dt.timedelta(microseconds=micros)
