"""The monitor's tables (extracts, events, page states, alerts, reviews), kept current."""

from __future__ import annotations

import hashlib

from sqlite_utils import Database

from archive.schema import Table, ensure
from monitor.reviews import REVIEWS

EXTRACTS = Table(
    "extracts",
    {"capture_id": int, "extractor": str, "title": str, "text": str, "text_hash": str,
     "words": int, "byline": str, "published": str, "outlinks": str, "options_hash": str,
     # How the text was read (monitor.reader.Reading): "page" where no article could be
     # read and the page's visible text is compared instead; and the notices of the page
     # (a JSON list), what a removal is judged on.
     "reader": str, "notices": str},
    pk="capture_id",
)

EVENTS = Table(
    "events",
    {"id": int, "kind": str, "url": str, "link": str, "detected_at": str,
     "before_capture": int, "after_capture": int, "before": str, "after": str,
     "summary": str, "details": str, "crawl_id": int, "source_id": int},
    pk="id", not_null=frozenset({"kind", "url", "detected_at", "summary"}),
    indexes=((("detected_at",), False), (("url",), False), (("crawl_id",), False)),
)

# Where each monitored URL stands, so an event is raised once, by the first crawl.
PAGE_STATE = Table(
    "page_state",
    {"key": str, "state": str, "streak": int, "since": str, "event_id": int, "detail": str},
    pk="key",
)

# One row per event and channel: claimed before it is sent, delivered after.
DELIVERIES = Table(
    "deliveries",
    {"event_id": int, "channel": str, "claimed_at": str, "delivered_at": str,
     "attempts": int, "error": str,
     # The claimant (host:pid), so a claim whose process died is retried.
     "claimed_by": str},
    pk=("event_id", "channel"),
)

def url_sha256(url: str) -> str:
    """What the database keeps of a channel's URL: apprise URLs carry passwords and tokens,
    which stay in vigil.toml alone."""
    return "sha256:" + hashlib.sha256(url.encode("utf-8")).hexdigest()


def _forget_channel_urls(db: Database) -> None:
    # Earlier versions copied each URL, passwords and all, into the table; secure_delete
    # zeroes the old values' bytes instead of leaving them in free pages of the file.
    db.execute("PRAGMA secure_delete = ON")
    rows = list(db.execute("SELECT name, url FROM channels WHERE url IS NOT NULL"))
    for name, url in rows:
        db.execute("UPDATE channels SET url_sha256 = ?, url = NULL WHERE name = ?",
                   [url_sha256(url), name])


# Alert channels by name; each is sent events newer than its baseline event id. ``url``
# is always NULL now (kept only because SQLite cannot drop it in older homes).
CHANNELS = Table(
    "channels",
    {"name": str, "url": str, "baseline": int, "added_at": str, "url_sha256": str},
    pk="name",
    backfills={"url_sha256": _forget_channel_urls},
)

TABLES = (EXTRACTS, EVENTS, PAGE_STATE, DELIVERIES, CHANNELS, REVIEWS)


def create_schema(db: Database) -> None:
    """Every table the monitor reads and writes, as this version needs it."""
    for table in TABLES:
        ensure(db, table)
