"""The SQLite store: schema migrations, sources, crawls and failed fetches."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlite_utils import Database

from archive.fetches import REFUSALS
from archive.found_by import FoundBy
from archive.index import CaptureIndex, in_chunks, marks, resolved_query
from archive.schema import Table, ensure
from archive.schema import create_schema as archive_schema
from archive.signing import file_sha256
from archive.timeutil import parse_stored, utcnow, warc_date
from archive.urls import normalize_url
from crawler.scheduling.rules import DEFAULT_EVERY, QuietHours, Schedule, format_interval
from monitor.schema import create_schema as monitor_schema

SOURCES = Table(
    "sources",
    {"id": int, "url": str, "name": str, "depth": int, "ignore_robots": int,
     "added_at": str, "updated_at": str,
     # Per-source comparison options (JSON lists, a fraction).
     "include_selectors": str, "remove_selectors": str, "ignore_patterns": str,
     "min_change": float,
     # When to recapture.
     "every_seconds": int, "cron": str, "jitter_seconds": int, "quiet_hours": str,
     # When its pages are rendered in Chromium: auto, always, never (spiders/rendering.py).
     "browser": str},
    pk="id", not_null=frozenset({"url", "name", "depth", "ignore_robots", "jitter_seconds"}),
    defaults={"jitter_seconds": 0},
    indexes=((("url",), True), (("name",), False)),
)

CRAWLS = Table(
    "crawls",
    {"id": int, "started_at": str, "ended_at": str, "status": str, "finish_reason": str,
     "sources": str, "pages": int, "bytes": int, "failures": int, "warcs": str,
     "stats": str, "pid": int, "log": str},
    pk="id",
)

# The home's own schema version, in PRAGMA user_version. Versions 1-4 were one list of
# migrations for every table; from 5 on, each library brings its own tables up to date
# (archive.schema, monitor.schema) and the home only its sources and crawls (6 added the
# reviews, 7 the sources' browser, 8 the deliveries' claimant, 9 hashed channel URLs, 13
# leaner revisit rows and partial indexes, 14 the captures view over rows that hold a
# URL's and a file name's number). A
# change to any table's definition bumps it (tests/test_schema.py pins them).
SCHEMA_VERSION = 14
HOME_TABLES = (SOURCES, CRAWLS)


class SourceNotFound(LookupError):
    """A URL or name that matches no registered source."""


# Seconds a write waits for another writer's lock before it fails.
BUSY_TIMEOUT = 30.0


def open_database(path: Path, timeout: float = BUSY_TIMEOUT) -> Database:
    # The owner's only: it names every source and what was seen when. SQLite gives its
    # -wal and -shm files the database file's permissions.
    path.touch(mode=0o600, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
    conn = sqlite3.connect(path, timeout=timeout)
    db = Database(conn)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    migrate(db)
    return db


class NewerHome(RuntimeError):
    """A home written by a newer vigil than this one."""


def migrate(db: Database) -> None:
    """Bring every table up to this version's schema, in one transaction."""
    current = db.execute("PRAGMA user_version").fetchone()[0]
    if current == SCHEMA_VERSION:
        return  # every open would otherwise inspect every table (~2 ms)
    if current > SCHEMA_VERSION:
        raise NewerHome(f"this home has schema version {current}; this vigil knows "
                        f"{SCHEMA_VERSION}: upgrade vigil")
    with db.conn:
        for table in HOME_TABLES:
            ensure(db, table)
        archive_schema(db)
        monitor_schema(db)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


@dataclass(frozen=True)
class Source:
    id: int
    url: str
    name: str
    depth: int
    ignore_robots: bool
    added_at: str
    updated_at: str
    include_selectors: list[str]
    remove_selectors: list[str]
    ignore_patterns: list[str]
    min_change: float
    every_seconds: int | None
    cron: str | None
    jitter_seconds: int
    quiet_hours: str | None
    browser: str = "auto"  # spiders.rendering.BrowserMode

    @property
    def schedule(self) -> Schedule:
        return Schedule(every=None if self.cron else self.every_seconds or DEFAULT_EVERY,
                        cron=self.cron, jitter=self.jitter_seconds,
                        quiet=QuietHours.parse(self.quiet_hours) if self.quiet_hours else None)

    def next_capture(self, last: str | None, now: datetime | None = None) -> datetime:
        """When the source is due, after its last capture (stored form; None: never)."""
        moment = now or utcnow()
        return max(self.schedule.next_after(parse_stored(last) if last else None, moment),
                   moment)

    def public(self) -> dict[str, Any]:
        # Not asdict(): its deep copy of every list was a tenth of `vigil sources --json`.
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["every"] = None if self.cron else format_interval(
            self.every_seconds or DEFAULT_EVERY)
        return data


def default_name(url: str) -> str:
    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")


class Store:
    """Everything vigil keeps in SQLite, over one connection."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.captures = CaptureIndex(db)

    @classmethod
    def open(cls, path: Path, timeout: float = BUSY_TIMEOUT) -> Store:
        return cls(open_database(path, timeout))

    def close(self) -> None:
        self.db.conn.close()

    # -- sources ---------------------------------------------------------------
    def upsert_source(
        self, url: str, *, name: str | None, depth: int | None, ignore_robots: bool | None,
        monitor: Mapping[str, Any] | None = None, schedule: Mapping[str, Any] | None = None,
        browser: str | None = None,
    ) -> Source:
        """Register a URL, or update the given fields of an existing one (no duplicate).
        ``monitor`` holds comparison options: selector and pattern lists, min_change;
        ``schedule`` the columns every_seconds, cron, jitter_seconds, quiet_hours."""
        key = normalize_url(url)
        now = warc_date(utcnow())
        existing = self._source_row(key)
        options = {k: v if isinstance(v, float) else json.dumps(list(v))
                   for k, v in (monitor or {}).items()}
        options.update(schedule or {})
        if browser is not None:
            options["browser"] = browser
        if existing is None:
            row = {"url": key, "name": name or default_name(key),
                   "depth": 1 if depth is None else depth,
                   "ignore_robots": int(bool(ignore_robots)), "added_at": now, "updated_at": now,
                   **options}
            self.db.table("sources").insert(row)
        else:
            changes: dict[str, Any] = {"updated_at": now, **options}
            if name is not None:
                changes["name"] = name
            if depth is not None:
                changes["depth"] = depth
            if ignore_robots is not None:
                changes["ignore_robots"] = int(ignore_robots)
            self.db.table("sources").update(existing["id"], changes)
        found = self._source_row(key)
        assert found is not None
        return _source(found)

    def set_schedule(self, source: Source, schedule: Mapping[str, Any]) -> Source:
        with self.db.conn:
            self.db.table("sources").update(source.id, {**schedule,
                                                        "updated_at": warc_date(utcnow())})
        return _source(self.db.table("sources").get(source.id))

    def last_captures(self, sources: Sequence[Source]) -> dict[int, str | None]:
        """When each of ``sources``' own URL was last captured (stored timestamp form), in
        one query per CHUNK of them."""
        found: dict[int, str | None] = {}
        for chunk in in_chunks([s.id for s in sources]):
            # By its URL first: the (url, time) index answers it, walked back from the
            # latest (source_id has none, and a scan of every capture per source made
            # `vigil sources` slow on a large home).
            found.update(self.db.execute(
                "SELECT s.id, (SELECT timestamp FROM captures WHERE url = s.url AND "
                "source_id = s.id AND found_by = ? ORDER BY time_us DESC LIMIT 1) "
                f"FROM sources AS s WHERE s.id IN ({marks(chunk)})", [FoundBy.SEED, *chunk]))
        return found

    def failures(self, url: str) -> list[dict[str, Any]]:
        return self.failures_of([url])[url]

    def failures_of(self, urls: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        """``failures`` of each of ``urls`` (oldest first), in one query per CHUNK."""
        keys = {normalize_url(u): u for u in urls}
        found: dict[str, list[dict[str, Any]]] = {u: [] for u in keys.values()}
        for chunk in in_chunks(list(keys)):
            cursor = self.db.execute(f"SELECT * FROM failures WHERE url IN ({marks(chunk)}) "
                                     "ORDER BY timestamp, id", list(chunk))
            names = [d[0] for d in cursor.description]
            for values in cursor:
                row = dict(zip(names, values, strict=True))
                found[keys[row["url"]]].append(row)
        return found

    def _source_row(self, key: str) -> dict[str, Any] | None:
        return next(self.db.table("sources").rows_where("url = ?", [key]), None)

    def sources(self) -> list[Source]:
        return [_source(r) for r in self.db.table("sources").rows_where(order_by="id")]

    def select_sources(self, selectors: Iterable[str]) -> list[Source]:
        """Sources matching each URL or name; every selector must match something."""
        chosen: dict[int, Source] = {}
        every = self.sources()
        for selector in selectors:
            matches = [s for s in every
                       if s.name == selector or s.url == _maybe_normalize(selector)]
            if not matches:
                raise SourceNotFound(f"no source with URL or name {selector!r} "
                                     "(see `vigil sources`)")
            chosen.update((s.id, s) for s in matches)
        return sorted(chosen.values(), key=lambda s: s.id)

    def known_pages(self, source: Source) -> list[dict[str, Any]]:
        """Related and cited pages found by links in the source's last crawl in which the
        source itself answered, with their referrer. The next crawl checks them even when
        the source is down or gone; a page no longer linked drops out one crawl later."""
        # By the source's URL (the first hop of its redirects): the (url, timestamp) index
        # answers, where source_id alone would scan every capture for every source.
        last = self.db.execute(
            "SELECT MAX(crawl_id) FROM captures WHERE url = ? AND source_id = ? "
            "AND found_by = ? AND via IS NULL AND status < 400",
            [source.url, source.id, FoundBy.SEED]).fetchone()[0]
        if last is None:
            return []
        where = ("source_id = ? AND crawl_id = ? AND via IS NULL AND recheck = 0 "
                 "AND found_by IN (?, ?)")
        params = [source.id, last, FoundBy.RELATED, FoundBy.CITED]
        rows = self.db.query(
            f"{resolved_query(('url', 'found_by', 'referrer'), where)} UNION "
            f"SELECT url, found_by, referrer FROM failures WHERE {where} "
            f"AND error NOT IN ({', '.join('?' * len(REFUSALS))}) ORDER BY url",
            [*params, *params, *REFUSALS])
        return list(rows)

    # -- crawls ----------------------------------------------------------------
    def start_crawl(self, source_ids: list[int], pid: int) -> int:
        table = self.db.table("crawls")
        with self.db.conn:
            table.insert({"started_at": warc_date(utcnow()), "status": "running",
                          "sources": json.dumps(source_ids), "pid": pid})
        assert table.last_pk is not None
        return int(table.last_pk)

    def finish_crawl(self, crawl_id: int, *, status: str, finish_reason: str,
                     summary: dict[str, Any], stats: dict[str, Any]) -> None:
        with self.db.conn:
            self.db.table("crawls").update(crawl_id, {
                "ended_at": warc_date(utcnow()), "status": status,
                "finish_reason": finish_reason, "pages": summary["pages"],
                "bytes": summary["bytes"], "failures": summary["failures"],
                "warcs": json.dumps(summary["warcs"]),
                "stats": json.dumps(stats, default=str, sort_keys=True),
            })

    # -- failures --------------------------------------------------------------
    def add_failures(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            with self.db.conn:
                self.db.table("failures").insert_all(rows)

    def record_closed_warcs(self, names: list[str], crawl_id: int | None, warc_dir: Path,
                            hashes: Mapping[str, str] | None = None) -> None:
        """Note closed files with their SHA-256 (as hashed when written, else read back)."""
        now = warc_date(utcnow())
        known = hashes or {}
        rows = [{"name": n, "crawl_id": crawl_id, "closed_at": now,
                 "size": (warc_dir / n).stat().st_size,
                 "sha256": known.get(n) or file_sha256(warc_dir / n)} for n in names]
        if rows:
            with self.db.conn:
                self.db.table("warcs").upsert_all(rows, pk="name")


def _maybe_normalize(selector: str) -> str:
    try:
        return normalize_url(selector)
    except ValueError:
        return selector


def _source(row: dict[str, Any]) -> Source:
    def items(column: str) -> list[str]:
        return list(json.loads(row.get(column) or "[]"))
    return Source(id=row["id"], url=row["url"], name=row["name"], depth=row["depth"],
                  ignore_robots=bool(row["ignore_robots"]), added_at=row["added_at"],
                  updated_at=row["updated_at"], include_selectors=items("include_selectors"),
                  remove_selectors=items("remove_selectors"),
                  ignore_patterns=items("ignore_patterns"),
                  min_change=float(row.get("min_change") or 0.0),
                  every_seconds=row.get("every_seconds"), cron=row.get("cron"),
                  jitter_seconds=row.get("jitter_seconds") or 0,
                  quiet_hours=row.get("quiet_hours"), browser=row.get("browser") or "auto")
