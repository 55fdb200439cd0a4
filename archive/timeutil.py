"""Timestamps: parsing user datetimes and formatting WARC, CDX and display times."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime

_DIGITS = re.compile(r"^\d{4,14}$")
# Missing digits are taken from the earliest moment, one character at a time, as the
# Wayback Machine pads a partial timestamp ("2026" is 2026-01-01T00:00:00Z).
_PAD_DOWN = "10000101000000"


class InvalidDatetime(ValueError):
    """A datetime the user gave that we cannot read."""


def parse_datetime(text: str) -> datetime:
    """Read an ISO 8601 datetime, a date, or 4-14 digits (``YYYYMMDDhhmmss``) as UTC.

    Digit prefixes are padded the Wayback way (``2026`` is 2026-01-01T00:00:00Z);
    naive datetimes are taken as UTC.
    """
    value = text.strip()
    if _DIGITS.match(value):
        return from_digits(value)
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError as exc:
        raise InvalidDatetime(
            f"not a valid datetime: {text!r} (use ISO 8601, YYYY-MM-DD or YYYYMMDDhhmmss)"
        ) from exc
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def from_digits(value: str) -> datetime:
    """4 to 14 digits of ``YYYYMMDDhhmmss`` as a UTC datetime: missing digits padded the
    Wayback way, each field then brought into its range (month 19 is 12, day 39 the
    month's last, hour 29 is 23), as pywb reads a partial timestamp."""
    if not _DIGITS.match(value):
        raise InvalidDatetime(f"not 4 to 14 digits: {value!r}")
    padded = value + _PAD_DOWN[len(value):]
    year, month = int(padded[:4]), min(max(int(padded[4:6]), 1), 12)
    day = min(max(int(padded[6:8]), 1), calendar.monthrange(year, month)[1])
    try:
        return datetime(year, month, day, min(int(padded[8:10]), 23),
                        min(int(padded[10:12]), 59), min(int(padded[12:14]), 59), tzinfo=UTC)
    except ValueError as exc:  # year 0
        raise InvalidDatetime(f"not a valid datetime: {value!r}") from exc


def utcnow() -> datetime:
    return datetime.now(UTC)


def warc_date(moment: datetime) -> str:
    """WARC/1.1 date with microseconds; it sorts lexicographically, so SQLite stores it too."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_seconds(moment: datetime) -> str:
    """The display form: ``2026-11-21T18:30:46Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def digits14(moment: datetime) -> str:
    """The CDX / Wayback form: ``20261121183046``."""
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def parse_stored(text: str) -> datetime:
    """Read a timestamp as we store it (``warc_date`` output, or any ISO 8601 form)."""
    return datetime.fromisoformat(text).astimezone(UTC)
