"""The archive's tables (captures, failures, warcs, custody), created or brought up to date."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database


@dataclass(frozen=True)
class Table:
    """A table as the current code needs it. Columns are only ever added, so a home made
    by any earlier version is brought up to date by adding what it lacks."""

    name: str
    columns: Mapping[str, type]
    pk: str | tuple[str, ...]
    not_null: frozenset[str] = frozenset()
    defaults: Mapping[str, Any] = field(default_factory=dict)
    indexes: Sequence[tuple[Sequence[str], bool]] = ()  # (columns, unique)
    # (name, column): an index of the rows where the column is not NULL, for a column
    # most rows leave NULL and that is only ever looked up by value.
    partial_indexes: Sequence[tuple[str, str]] = ()
    # Indexes an earlier version made that another index now serves: dropped on upgrade.
    dropped_indexes: Sequence[str] = ()
    # Run once when a column is added to an existing table: fills in what it means for
    # the rows written before it existed.
    backfills: Mapping[str, Callable[[Database], None]] = field(default_factory=dict)


def ensure(db: Database, table: Table) -> None:
    """Create ``table``, or add the columns, indexes it lacks (idempotent)."""
    existing = db.table(table.name)
    if not existing.exists():
        existing.create(dict(table.columns), pk=table.pk, not_null=set(table.not_null),
                        defaults=dict(table.defaults))
    else:
        have = set(existing.columns_dict)
        for name, kind in table.columns.items():
            if name in have:
                continue
            existing.add_column(name, kind, not_null_default=table.defaults.get(name))
            backfill = table.backfills.get(name)
            if backfill is not None:
                backfill(db)
    for columns, unique in table.indexes:
        existing.create_index(list(columns), unique=unique, if_not_exists=True)
    for name, column in table.partial_indexes:
        db.execute(f"CREATE INDEX IF NOT EXISTS [{name}] ON [{table.name}] ([{column}]) "
                   f"WHERE [{column}] IS NOT NULL")
    for name in table.dropped_indexes:
        db.execute(f"DROP INDEX IF EXISTS [{name}]")


def _payload_status(db: Database) -> None:
    # A capture serves its own payload unless it is a revisit (whose rows then said so).
    db.execute("UPDATE captures SET payload_status = status")


CAPTURES = Table(
    "captures",
    {"id": int, "url": str, "timestamp": str, "status": int, "content_type": str,
     "digest": str, "payload_digest": str, "warc": str, "offset": int, "length": int,
     "revisit": int, "truncated": str, "size": int, "record_id": str, "ip_address": str,
     "target_uri": str, "found_by": str, "referrer": str, "source_id": int, "crawl_id": int,
     # Redirects: where a 3xx pointed, and the URL a redirect chain started from.
     "location": str, "via": str,
     # Fetched because the last crawl monitored it, not because a link was found.
     "recheck": int,
     # A revisit's original capture, and the status of the payload a capture resolves
     # to (a 304 revisit serves its original's 200 payload).
     "refers_to": int, "payload_status": int,
     # Validators for conditional requests on the next crawl.
     "etag": str, "last_modified": str,
     # SHA-256 of the response record's gzip member as written: a flipped byte anywhere
     # in it, even in the gzip header no CRC covers, names the record. Its 32 bytes (hex
     # in rows written before schema 13).
     "member_sha256": str},
    pk="id", not_null=frozenset({"url", "timestamp", "status", "warc", "offset", "length",
                                 "recheck"}),
    defaults={"recheck": 0},
    # (url, timestamp) serves every lookup of a URL: by time either way, the latest 2xx
    # (walked back from the latest, a range scan of that URL's rows at worst), history.
    indexes=((("url", "timestamp"), False), (("crawl_id",), False),
             (("warc", "offset"), True)),
    # Only a redirect's later hops have a via, and a revisit has no record ID of its own.
    partial_indexes=(("idx_captures_via_present", "via"),
                     ("idx_captures_record_id_present", "record_id")),
    dropped_indexes=("idx_captures_url_payload_status_timestamp", "idx_captures_via",
                     "idx_captures_record_id"),
    backfills={"payload_status": _payload_status},
)

FAILURES = Table(
    "failures",
    {"id": int, "url": str, "timestamp": str, "error": str, "message": str, "found_by": str,
     "referrer": str, "source_id": int, "crawl_id": int, "via": str, "recheck": int},
    pk="id", not_null=frozenset({"url", "timestamp", "error", "recheck"}),
    defaults={"recheck": 0},
    indexes=((("url", "timestamp"), False), (("crawl_id",), False)),
)

WARCS = Table(
    "warcs",
    {"name": str, "crawl_id": int, "closed_at": str, "size": int, "sha256": str,
     # The SHA-256 a signed manifest last listed for it: the next manifest lists only the
     # files whose hash it has not signed yet (NULL in a home made before: listed once).
     "signed_sha256": str},
    pk="name",
)

CUSTODY = Table(
    "custody",
    {"id": int, "at": str, "action": str, "detail": str, "prev_hash": str, "hash": str},
    pk="id", not_null=frozenset({"at", "action", "detail", "prev_hash", "hash"}),
)

TABLES = (CAPTURES, FAILURES, WARCS, CUSTODY)


def create_schema(db: Database) -> None:
    """Every table the archive reads and writes, as this version needs it."""
    for table in TABLES:
        ensure(db, table)
    # Append-only: the custody log refuses updates and deletes at the database level too.
    for event in ("UPDATE", "DELETE"):
        db.execute(f"CREATE TRIGGER IF NOT EXISTS custody_no_{event.lower()} BEFORE {event} "
                   "ON custody BEGIN SELECT RAISE(ABORT, 'the custody log is append-only'); "
                   "END")
