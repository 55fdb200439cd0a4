"""The monitor's tables (extracts, events, page states, alerts, reviews), kept current."""

from __future__ import annotations

from sqlite_utils import Database

from archive.schema import Table, ensure
from monitor.reviews import REVIEWS

EXTRACTS = Table(
    "extracts",
    {"capture_id": int, "extractor": str, "title": str, "text": str, "text_hash": str,
     "words": int, "byline": str, "published": str, "outlinks": str, "options_hash": str},
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

# Alert channels by name; each is sent events newer than its baseline event id.
CHANNELS = Table(
    "channels",
    {"name": str, "url": str, "baseline": int, "added_at": str},
    pk="name",
)

TABLES = (EXTRACTS, EVENTS, PAGE_STATE, DELIVERIES, CHANNELS, REVIEWS)


def create_schema(db: Database) -> None:
    """Every table the monitor reads and writes, as this version needs it."""
    for table in TABLES:
        ensure(db, table)
