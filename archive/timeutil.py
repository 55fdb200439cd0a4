"""Timestamps: parsing user datetimes and formatting WARC, CDX and display times."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, timedelta

_DIGITS = re.compile(r"^\d{4,14}$")
# Missing digits are taken from the earliest moment, one character at a time, as the
# Wayback Machine pads a partial timestamp ("2026" is 2026-01-01T00:00:00Z).
_PAD_DOWN = "10000101000000"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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
    Wayback way. A field the digits give whole must be valid (month 13 is an error); one
    that padding made out of range is brought into it (``2026023`` is 2026-02-28, as
    pywb reads a partial timestamp)."""
    if not _DIGITS.match(value):
        raise InvalidDatetime(f"not 4 to 14 digits: {value!r}")
    padded = value + _PAD_DOWN[len(value):]
    year = int(padded[:4])
    fields = [int(padded[start:start + 2]) for start in range(4, 14, 2)]
    given = [len(value) >= start + 2 for start in range(4, 14, 2)]
    try:
        month_days = calendar.monthrange(year, min(max(fields[0], 1), 12))[1]
    except (ValueError, calendar.IllegalMonthError) as exc:
        raise InvalidDatetime(f"not a valid datetime: {value!r}") from exc
    ranges = [(1, 12), (1, month_days), (0, 23), (0, 59), (0, 59)]
    for n, (low, high) in enumerate(ranges):
        if not low <= fields[n] <= high:
            if given[n]:
                raise InvalidDatetime(f"not a valid datetime: {value!r}")
            fields[n] = min(max(fields[n], low), high)
    try:
        month, day, hour, minute, second = fields
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as exc:  # year 0
        raise InvalidDatetime(f"not a valid datetime: {value!r}") from exc


def utcnow() -> datetime:
    return datetime.now(UTC)


def warc_date(moment: datetime) -> str:
    """WARC/1.1 date with microseconds; it sorts lexicographically, so SQLite stores it too."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch: a capture's time as the index stores it."""
    return (moment.astimezone(UTC) - _EPOCH) // timedelta(microseconds=1)


def iso_seconds(moment: datetime) -> str:
    """The display form: ``2026-11-21T18:30:46Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def digits14(moment: datetime) -> str:
    """The CDX / Wayback form: ``20261121183046``."""
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def parse_stored(text: str) -> datetime:
    """Read a timestamp as we store it (``warc_date`` output, or any ISO 8601 form)."""
    return datetime.fromisoformat(text).astimezone(UTC)
