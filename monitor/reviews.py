"""Editors' review marks on events: reviewed, a note, a significance (as EDGI's analysts mark)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlite_utils import Database

from archive.schema import Table, ensure
from archive.timeutil import utcnow, warc_date


class Significance(StrEnum):
    """How much a change matters to the desk, from a typo fixed to a story rewritten."""

    TRIVIAL = "trivial"
    MINOR = "minor"
    SIGNIFICANT = "significant"
    MAJOR = "major"


class InvalidReview(ValueError):
    """A review mark the table cannot hold (an unknown significance, an unknown event)."""


NOTE_LIMIT = 4000


# One row per event an editor marked reviewed.
REVIEWS = Table("reviews", {"event_id": int, "reviewed_at": str, "note": str,
                            "significance": str},
                pk="event_id", not_null=frozenset({"reviewed_at"}))


def create_schema(db: Database) -> None:
    """The ``reviews`` table; safe to call on every open."""
    ensure(db, REVIEWS)


@dataclass(frozen=True)
class Review:
    event_id: int
    reviewed_at: str
    note: str | None
    significance: Significance | None


class Reviews:
    def __init__(self, db: Database) -> None:
        self.db = db
        create_schema(db)

    def get(self, event_id: int) -> Review | None:
        row = self.db.execute("SELECT event_id, reviewed_at, note, significance FROM reviews "
                              "WHERE event_id = ?", [event_id]).fetchone()
        if row is None:
            return None
        return Review(row[0], row[1], row[2], Significance(row[3]) if row[3] else None)

    def reviewed(self) -> set[int]:
        return {int(r[0]) for r in self.db.execute("SELECT event_id FROM reviews")}

    def mark(self, event_id: int, note: str | None = None,
             significance: str | None = None) -> Review:
        """Mark the event reviewed; marking again replaces the note and significance."""
        try:
            level = Significance(significance) if significance else None
        except ValueError as exc:
            raise InvalidReview(f"significance is one of {', '.join(Significance)}") from exc
        if note is not None and len(note) > NOTE_LIMIT:
            raise InvalidReview(f"a note is at most {NOTE_LIMIT} characters")
        if self.db.execute("SELECT 1 FROM events WHERE id = ?", [event_id]).fetchone() is None:
            raise InvalidReview(f"no event {event_id}")
        with self.db.conn:
            self.db.execute(
                "INSERT INTO reviews (event_id, reviewed_at, note, significance) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (event_id) DO UPDATE SET "
                "reviewed_at = excluded.reviewed_at, note = excluded.note, "
                "significance = excluded.significance",
                [event_id, warc_date(utcnow()), note or None, level.value if level else None])
        review = self.get(event_id)
        assert review is not None
        return review
