"""The changes an archive recorded, as `vigil changes --json` and /api/changes list them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from archive.urls import normalize_url
from monitor.events import KINDS, Event, EventLog


class UnknownFilter(ValueError):
    """A filter value that names no kind or no source."""


@dataclass(frozen=True)
class ChangeFilter:
    """The filters `vigil changes` and the desk share; None is "any"."""

    since: datetime | None = None
    kind: str | None = None
    url: str | None = None
    source: str | None = None  # a source's name or URL

    def check(self) -> None:
        if self.kind is not None and self.kind not in KINDS:
            raise UnknownFilter(f"unknown kind {self.kind!r}; use {', '.join(KINDS)}")


def source_ids(db: Database, selector: str) -> set[int]:
    """The ids of the sources named ``selector`` or registered at that URL."""
    try:
        key = normalize_url(selector)
    except ValueError:
        key = selector
    found = {int(r[0]) for r in db.execute("SELECT id FROM sources WHERE name = ? OR url = ?",
                                           [selector, key])}
    if not found:
        raise UnknownFilter(f"no source with URL or name {selector!r}")
    return found


def select_events(db: Database, wanted: ChangeFilter, *, newest_first: bool = False,
                  limit: int | None = None) -> list[Event]:
    """The events matching every filter given."""
    wanted.check()
    chosen = source_ids(db, wanted.source) if wanted.source else None
    events = EventLog(db).query(since=wanted.since, kind=wanted.kind, url=wanted.url,
                                newest_first=newest_first,
                                limit=None if chosen is not None else limit)
    if chosen is not None:
        events = [e for e in events if e.source_id in chosen][:limit]
    return events


def event_by_id(db: Database, event_id: int) -> Event | None:
    return EventLog(db).get(event_id)


def changes_json(db: Database, wanted: ChangeFilter) -> list[dict[str, Any]]:
    """The JSON array of `vigil changes --json`: every matching event, oldest first."""
    return [e.public() for e in select_events(db, wanted)]


def titles(db: Database, events: list[Event]) -> dict[int, str]:
    """Each event's page title, where the monitor has read one (cached extracts only:
    cheap enough for a list of hundreds)."""
    found: dict[int, str] = {}
    wanted: dict[int, list[int]] = {}
    for event in events:
        if event.id is None:
            continue
        title = event.details.get("title_after") or event.details.get("title_before")
        if isinstance(title, str) and title:
            found[event.id] = title
            continue
        for capture in (event.after_capture, event.before_capture):
            if capture is not None:
                wanted.setdefault(capture, []).append(event.id)
    if wanted:
        marks = ", ".join("?" * len(wanted))
        # A revisit's extract is kept under the capture it refers to.
        rows = db.execute(
            f"SELECT c.id, e.title FROM captures c JOIN extracts e ON e.capture_id = "
            f"COALESCE(c.refers_to, c.id) WHERE c.id IN ({marks}) AND e.title != ''",
            list(wanted))
        for capture_id, title in rows:
            for event_id in wanted[capture_id]:
                found.setdefault(event_id, title)
    return found
