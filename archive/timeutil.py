"""Timestamps: parsing user datetimes and formatting WARC, CDX and display times."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

_DIGITS = re.compile(r"^\d{4,14}$")


class InvalidDatetime(ValueError):
    """A datetime the user gave that we cannot read."""


def parse_datetime(text: str) -> datetime:
    """Read an ISO 8601 datetime, a date, or 4-14 digits (``YYYYMMDDhhmmss``) as UTC.

    Digit prefixes are padded the Wayback way (``2026`` is 2026-01-01T00:00:00Z);
    naive datetimes are taken as UTC.
    """
    value = text.strip()
    if _DIGITS.match(value) and len(value) % 2 == 0:
        padded = value + "0101000000"[len(value) - 4 :] if len(value) < 14 else value
        try:
            return datetime.strptime(padded, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        except ValueError as exc:
            raise InvalidDatetime(f"not a valid datetime: {text!r}") from exc
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
