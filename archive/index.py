"""The capture index in SQLite: what is archived where, and which capture answers a date."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlite_utils import Database

from archive.canonical import variants
from archive.schema import CAPTURE_COLUMNS
from archive.timeutil import micros, parse_stored
from archive.urls import normalize_url


class CaptureNotFound(LookupError):
    """No capture of a URL matches the request."""


def is_html(content_type: str | None) -> bool:
    """Whether a payload of this Content-Type is read as a web page (when none was given,
    it may be one: the reader decides)."""
    kind = (content_type or "").lower()
    return "html" in kind or not kind.strip()


@dataclass(frozen=True)
class Capture:
    """One archived HTTP response (or revisit) and where its record is."""

    url: str
    timestamp: str  # WARC-Date, microseconds, UTC: sorts as text (stored as a number)
    status: int
    content_type: str | None
    digest: str  # sha256:hex of the decoded payload, as `vigil get` returns it
    payload_digest: str | None  # WARC-Payload-Digest of the stored entity body
    warc: str
    offset: int
    length: int
    revisit: bool = False
    truncated: str | None = None
    size: int = 0
    record_id: str | None = None
    ip_address: str | None = None
    target_uri: str | None = None
    found_by: str | None = None
    referrer: str | None = None
    source_id: int | None = None
    crawl_id: int | None = None
    location: str | None = None  # a redirect's Location, resolved against the URL
    via: str | None = None  # the URL a redirect chain started from
    recheck: bool = False  # fetched because an earlier crawl monitored it, not a link
    refers_to: int | None = None  # a revisit's original capture
    payload_status: int | None = None  # status of the payload this resolves to
    etag: str | None = None
    last_modified: str | None = None
    member_sha256: str | None = None  # of the record's gzip member as written
    id: int | None = None

    @property
    def moment(self) -> datetime:
        return parse_stored(self.timestamp)

    def row(self) -> dict[str, Any]:
        # Every field is a plain value: asdict()'s deep copy is not needed.
        data = {name: getattr(self, name) for name in _FIELDS if name != "id"}
        data["revisit"] = int(self.revisit)
        data["recheck"] = int(self.recheck)
        if data["payload_status"] is None:
            data["payload_status"] = self.status
        return data


_FIELDS = [f.name for f in fields(Capture)]

# A revisit's row leaves these NULL when they are its original's, and reads them through
# it: an unchanged recapture's row holds what is its own (time, status, where its record
# is, how it was found). Its record ID is in its record only (nothing looks a revisit up
# by it: revisits refer to originals). A validator or address a 304 leaves out is its
# original's; but a revisit with no referrer where its original had one (a seed now, a
# link before) stores "" for it, read back as none.
INHERITED = ("digest", "content_type", "payload_digest", "size", "ip_address", "target_uri",
             "referrer", "etag", "last_modified")
_OWN_NONE = ("referrer",)
_NONE = ""


@functools.lru_cache(maxsize=128)  # a few dozen statements, each asked for per page
def resolved_query(columns: Sequence[str] | None, where: str) -> str:
    """SQL for ``columns`` (None: every column) of the captures that ``where`` chooses,
    as they read: a revisit's inherited columns through its original. The rows are chosen
    as by ``SELECT * FROM captures WHERE {where}`` (its index, order and limit), and each
    revisit's original is joined by its primary key (from capture_rows: no inherited
    column is a name the view reads by number, and the view as a LEFT JOIN's right side
    would be read whole)."""
    chosen = ", ".join(_resolved(n) if n in INHERITED else f"c.[{n}]"
                       for n in (columns or CAPTURE_COLUMNS))
    return (f"SELECT {chosen} FROM (SELECT * FROM captures WHERE {where}) AS c "
            "LEFT JOIN capture_rows AS o ON c.revisit = 1 AND o.id = c.refers_to")


def _resolved(name: str) -> str:
    own_none = (f"WHEN c.revisit = 1 AND c.[{name}] = '{_NONE}' THEN NULL "
                if name in _OWN_NONE else "")
    return (f"CASE WHEN c.revisit = 1 AND c.[{name}] IS NULL THEN o.[{name}] {own_none}"
            f"ELSE c.[{name}] END AS [{name}]")


def lean_row(capture: Capture, original: Capture | None) -> dict[str, Any]:
    """The row written for ``capture`` (``original``: the capture a revisit refers to)."""
    data = capture.row()
    if capture.member_sha256:
        # Stored as its 32 bytes (rows written before schema 13 hold it as hex).
        data["member_sha256"] = bytes.fromhex(capture.member_sha256)
    if capture.revisit and original is not None and original.id == capture.refers_to:
        data["record_id"] = None
        for name in INHERITED:
            own, theirs = data[name], getattr(original, name)
            if own == theirs or (name == "etag" and _same_entity_tag(own, theirs)):
                data[name] = None
            elif own is None and name in _OWN_NONE:
                data[name] = _NONE
    return data


def _same_entity_tag(own: str | None, theirs: str | None) -> bool:
    """Whether two ETags match by weak comparison (RFC 9110 8.8.3.2), as If-None-Match
    compares them. nginx answers a conditional request for a page it gzips with the strong
    form of the weak tag its 200 sent: the row reads the original's, which the next
    If-None-Match sends to the same effect; the revisit's record keeps the 304's own."""
    if not own or not theirs:
        return False
    return own.removeprefix("W/") == theirs.removeprefix("W/")


# Values bound to one ``IN (...)`` at most: well under SQLite's limit on parameters.
CHUNK = 500


def in_chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    """``values`` in runs of at most CHUNK, each for one ``IN (...)``."""
    for start in range(0, len(values), CHUNK):
        yield values[start:start + CHUNK]


def marks(values: Sequence[Any]) -> str:
    """The ``?, ?, …`` of an ``IN (...)`` over ``values``."""
    return ", ".join("?" * len(values))


def _from_row(row: dict[str, Any]) -> Capture:
    data = {k: row[k] for k in _FIELDS if k in row}
    data["revisit"] = bool(data.get("revisit"))
    data["recheck"] = bool(data.get("recheck"))
    if data.get("digest") is None:
        data["digest"] = ""  # a revisit whose original is gone: no payload to name
    member = data.get("member_sha256")
    if isinstance(member, bytes):
        data["member_sha256"] = member.hex()
    return Capture(**data)


class CaptureIndex:
    """Queries over the ``captures`` table (its schema lives in the store's migrations)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, captures: Iterable[Capture]) -> None:
        """Insert captures in one transaction (call only once their records are on disk);
        a revisit's row leaves out what it reads through its original (``lean_row``)."""
        batch = list(captures)
        wanted = sorted({c.refers_to for c in batch if c.revisit and c.refers_to})
        originals: dict[int | None, Capture] = {}
        for chunk in in_chunks(wanted):
            originals.update((c.id, c) for c in self._query(f"id IN ({marks(chunk)})",
                                                             list(chunk)))
        rows = [lean_row(c, originals.get(c.refers_to)) for c in batch]
        if rows:
            # Plain executemany: sqlite-utils' insert_all inspects the table each batch.
            columns = list(rows[0])
            sql = (f"INSERT INTO captures ({', '.join(f'[{c}]' for c in columns)}) "
                   f"VALUES ({', '.join('?' * len(columns))})")
            with self.db.conn:
                self.db.conn.executemany(sql, [[r[c] for c in columns] for r in rows])

    def get(self, capture_id: int) -> Capture | None:
        return next(self._query("id = ?", [capture_id]), None)

    def by_record_id(self, record_id: str) -> Capture | None:
        return next(self._query("record_id = ? LIMIT 1", [record_id]), None)

    def original(self, capture: Capture) -> Capture:
        """The capture whose payload this one serves: itself, or a revisit's original."""
        seen = capture
        while seen.revisit and seen.refers_to is not None:
            found = self.get(seen.refers_to)
            if found is None:
                break
            seen = found
        return seen

    def last_payload(self, url: str) -> Capture | None:
        """The latest capture of ``url`` with a 2xx payload (a revisit resolves to one)."""
        return next(self._query("url = ? AND payload_status BETWEEN 200 AND 299 "
                                "ORDER BY time_us DESC, id DESC LIMIT 1",
                                [normalize_url(url)]), None)

    def all(self) -> Iterator[Capture]:
        return self._query("1 ORDER BY id", [])

    def count(self) -> int:
        row = self.db.execute("SELECT COUNT(*) FROM captures").fetchone()
        return int(row[0])

    def at_offset(self, warc: str, offset: int) -> Capture | None:
        return next(self._query("warc = ? AND offset = ?", [warc, offset]), None)

    def ending_at(self, warc: str, offset: int) -> Capture | None:
        """The capture whose record ends where ``offset`` begins (its request follows)."""
        return next(self._query("warc = ? AND offset + length = ?", [warc, offset]), None)

    def offsets_in(self, warc: str) -> set[int]:
        return {r[0] for r in self.db.execute("SELECT offset FROM captures WHERE warc = ?",
                                              [warc])}

    def delete(self, ids: list[int]) -> None:
        with self.db.conn:
            for chunk in in_chunks(ids):
                self.db.execute(f"DELETE FROM captures WHERE id IN ({marks(chunk)})",
                                list(chunk))

    def resolve(self, url: str) -> str:
        """The indexed URL that answers for ``url``, matched as archives match (SURT):
        ``url`` itself when it has captures, else the nearest of its variants that has
        some (other scheme, ``www.``, trailing slash), else ``url`` normalised."""
        candidates = variants(url)
        marks = ", ".join("?" * len(candidates))
        held = {r[0] for r in self.db.execute(
            f"SELECT DISTINCT url FROM captures WHERE url IN ({marks})", candidates)}
        return next((c for c in candidates if c in held), normalize_url(url))

    def history(self, url: str) -> list[Capture]:
        """Every capture of ``url`` (matched as ``resolve`` matches), oldest first (ties
        by insertion order)."""
        return list(self._query("url = ? ORDER BY time_us, id", [self.resolve(url)]))

    def has_url(self, url: str) -> bool:
        sql = "SELECT 1 FROM captures WHERE url = ? LIMIT 1"
        return self.db.execute(sql, [normalize_url(url)]).fetchone() is not None

    def closest(self, url: str, at: datetime | None = None, any_status: bool = False) -> Capture:
        """The capture nearest ``at`` on either side, as a Memento TimeGate picks it.

        Equal distances go to the earlier capture; ``at=None`` means the latest. Two
        index probes, each a range scan on (URL, time): no full history is read.
        The URL is matched as ``resolve`` matches it.
        """
        key = self.resolve(url)
        # A revisit counts with the status of the payload it serves (a 304 serves a 200).
        status = "" if any_status else " AND payload_status BETWEEN 200 AND 299"
        if at is None:
            found = next(self._query(f"url = ?{status} ORDER BY time_us DESC, id DESC "
                                     "LIMIT 1", [key]), None)
        else:
            stamp = micros(at)
            before = next(self._query(f"url = ?{status} AND time_us <= ? "
                                      "ORDER BY time_us DESC, id DESC LIMIT 1",
                                      [key, stamp]), None)
            after = next(self._query(f"url = ?{status} AND time_us > ? "
                                     "ORDER BY time_us, id LIMIT 1", [key, stamp]), None)
            found = _nearer(before, after, at)
        if found is None:
            raise CaptureNotFound(self._explain(key, any_status))
        return found

    def in_second(self, url: str, at: datetime, any_status: bool = False) -> Capture | None:
        """The latest capture of ``url`` within the whole second of ``at``: the one a
        14-digit memento time names (the closest to ``at`` may be in the second before,
        a few milliseconds away)."""
        key = self.resolve(url)
        status = "" if any_status else " AND payload_status BETWEEN 200 AND 299"
        start = at.replace(microsecond=0)
        return next(self._query(f"url = ?{status} AND time_us >= ? AND time_us < ? "
                                "ORDER BY time_us DESC, id DESC LIMIT 1",
                                [key, micros(start),
                                 micros(start + timedelta(seconds=1))]), None)

    def _explain(self, key: str, any_status: bool) -> str:
        if not self.has_url(key):
            near = self.nearby(key)
            return f"no capture of {key} in this archive" + (
                f" (captured near it: {', '.join(near)})" if near else "")
        if not any_status:
            return f"no 2xx capture of {key} (use --any-status to see redirects and errors)"
        return f"no capture of {key}"

    def nearby(self, url: str, limit: int = 3) -> list[str]:
        """Captured URLs of the same site that start as ``url`` does, for as much of its
        path as any does (a suggestion for a URL not in the archive)."""
        parts = urlsplit(normalize_url(url))
        segments = parts.path.strip("/").split("/")
        for keep in range(len(segments), 0, -1):
            prefix = f"{parts.scheme}://{parts.netloc}/" + "/".join(segments[:keep])
            pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            rows = [r[0] for r in self.db.execute(
                "SELECT DISTINCT url FROM captures WHERE url LIKE ? ESCAPE '\\' "
                "ORDER BY url LIMIT ?", [pattern + "%", limit])]
            if rows:
                return rows
        return []

    def _query(self, where: str, params: list[Any]) -> Iterator[Capture]:
        # The connection's own execute: sqlite-utils' query() wraps every SELECT in a
        # savepoint (three statements), a cost paid twice per page in a crawl.
        cursor = self.db.conn.execute(resolved_query(None, where), params)
        names = [d[0] for d in cursor.description]
        for values in cursor:
            yield _from_row(dict(zip(names, values, strict=True)))


def _nearer(before: Capture | None, after: Capture | None, at: datetime) -> Capture | None:
    if before is None or after is None:
        return before or after
    # The tie goes to the earlier capture, as the TimeGate rule says.
    return before if (at - before.moment) <= (after.moment - at) else after
