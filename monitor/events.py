"""Events: one row per change a monitored page went through (healthchecks' Flip, for pages)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlite_utils import Database

from archive.timeutil import iso_seconds, parse_stored, utcnow, warc_date
from archive.urls import normalize_url


class Kind(StrEnum):
    """What happened to a monitored page (an event's ``kind``)."""

    EDITED = "edited"  # the article's title or text changed
    REMOVED = "removed"  # gone: an error, a notice in its place, or a redirect home
    MOVED = "moved"  # redirected for good to another article
    DEAD_LINK = "dead_link"  # a page the article cites stopped answering with content
    UNREACHABLE = "unreachable"  # its host has not answered for several crawls
    RESTORED = "restored"  # a removed page answers with its content again


KINDS = tuple(str(kind) for kind in Kind)


class State(StrEnum):
    """Where a monitored page stands between crawls (a ``page_state`` row's ``state``)."""

    NEW = "new"
    OK = "ok"
    REMOVED = "removed"
    MOVED = "moved"
    DEAD = "dead"


@dataclass
class Event:
    kind: str
    url: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    link: str | None = None
    before_capture: int | None = None
    after_capture: int | None = None
    before: str | None = None  # capture timestamps (stored form)
    after: str | None = None
    crawl_id: int | None = None
    source_id: int | None = None
    detected_at: str = field(default_factory=lambda: warc_date(utcnow()))
    id: int | None = None

    def public(self) -> dict[str, Any]:
        """The `vigil changes --json` form: display timestamps, details as an object."""
        data = asdict(self)
        data["detected_at"] = iso_seconds(parse_stored(self.detected_at))
        for key in ("before", "after"):
            value = data[key]
            data[key] = iso_seconds(parse_stored(value)) if value else None
        return data


def _from_row(row: dict[str, Any]) -> Event:
    data = dict(row)
    data["details"] = json.loads(data.get("details") or "{}")
    return Event(**data)


class EventLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, event: Event) -> Event:
        row = asdict(event)
        row.pop("id")
        row["details"] = json.dumps(event.details, ensure_ascii=False, sort_keys=True)
        table = self.db.table("events")
        table.insert(row)
        event.id = int(table.last_pk) if table.last_pk is not None else None
        return event

    def get(self, event_id: int) -> Event | None:
        row = next(self.db.query("SELECT * FROM events WHERE id = ?", [event_id]), None)
        return _from_row(row) if row is not None else None

    def query(self, *, since: datetime | None = None, kind: str | None = None,
              url: str | None = None, crawl_id: int | None = None,
              limit: int | None = None, newest_first: bool = False) -> list[Event]:
        where, params = ["1"], []  # type: list[str], list[Any]
        if since is not None:
            where.append("detected_at >= ?")
            params.append(warc_date(since))
        if kind:
            where.append("kind = ?")
            params.append(kind)
        if url:
            where.append("(url = ? OR link = ?)")
            params += [normalize_url(url)] * 2
        if crawl_id is not None:
            where.append("crawl_id = ?")
            params.append(crawl_id)
        order = "DESC" if newest_first else "ASC"
        sql = f"SELECT * FROM events WHERE {' AND '.join(where)} ORDER BY id {order}"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [_from_row(r) for r in self.db.query(sql, params)]


@dataclass(slots=True)
class PageState:
    """Where a monitored URL (or host) stands after the last crawl."""

    key: str
    state: str = State.NEW
    streak: int = 0  # consecutive crawls that failed
    last_good: int | None = None  # capture id of the last good content
    target: str | None = None  # where a move pointed
    event_id: int | None = None
    since: str | None = None


class StateTable:
    """The ``page_state`` rows. Plain SQL: the monitor reads and writes one per page after
    every crawl, and sqlite-utils' upsert inspects the table's schema on each call."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, key: str) -> PageState:
        row = self.db.execute("SELECT state, streak, since, event_id, detail FROM page_state "
                              "WHERE key = ?", [key]).fetchone()
        if row is None:
            return PageState(key=key)
        state, streak, since, event_id, detail_json = row
        detail = json.loads(detail_json or "{}")
        return PageState(key=key, state=state, streak=streak or 0,
                         last_good=detail.get("last_good"), target=detail.get("target"),
                         event_id=event_id, since=since)

    def put(self, state: PageState) -> None:
        self.db.execute(
            "INSERT INTO page_state (key, state, streak, since, event_id, detail) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET state = excluded.state, "
            "streak = excluded.streak, since = excluded.since, event_id = excluded.event_id, "
            "detail = excluded.detail",
            [state.key, state.state, state.streak, state.since or warc_date(utcnow()),
             state.event_id, json.dumps({"last_good": state.last_good, "target": state.target})])
