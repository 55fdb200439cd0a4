"""The archive's tables (captures, failures, warcs, custody), created or brought up to date."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

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


# A capture as every reader sees it: the columns of the ``captures`` view.
CAPTURE_COLUMNS: Mapping[str, type] = {
    "id": int, "url": str, "timestamp": str, "status": int, "content_type": str,
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
    "member_sha256": str}
_CAPTURE_NOT_NULL = frozenset({"url", "timestamp", "status", "warc", "offset", "length",
                               "recheck"})

# A URL and a WARC file's name are each stored once, and a capture's row holds their
# numbers: a row (and its two indexes) would otherwise repeat both at every recapture,
# about 150 of the 400 bytes an unchanged recapture's row cost (README: Deduplication).
URLS = Table("urls", {"id": int, "url": str}, pk="id", not_null=frozenset({"url"}),
             indexes=((("url",), True),))
WARC_NAMES = Table("warc_names", {"id": int, "name": str}, pk="id",
                   not_null=frozenset({"name"}), indexes=((("name",), True),))


class Interned(NamedTuple):
    """A column of the view that capture_rows holds as a number into another table."""

    stored: str  # the column in capture_rows
    table: str
    column: str  # the value's column there
    alias: str  # the table's name in the view


INTERNED = {"url": Interned("url_id", "urls", "url", "u"),
            "warc": Interned("warc_id", "warc_names", "name", "w")}


# A capture's time is stored as microseconds since the epoch (8 bytes, not the 27 of its
# text, in the row and in the index by URL); the view reads it back as ``warc_date``'s
# text, and also offers the number as ``time_us`` so that a lookup by time uses the index.
# Any WARC-Date form is read (whole seconds, up to nine digits of a fraction, cut to six);
# a text in no such form is kept as it came, and no lookup by time finds it.
TIME_US = "time_us"
_SECONDS = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]"


def time_us_of(text: str) -> str:
    """SQL for the stored time of the timestamp text ``text`` (an SQL expression)."""
    seconds = f"strftime('%s', substr({text}, 1, 19))"
    fraction = f"substr({text}, 21, length({text}) - 21)"
    readable = (f"{text} GLOB '{_SECONDS}*Z' AND {seconds} IS NOT NULL AND "
                f"(length({text}) = 20 OR (substr({text}, 20, 1) = '.' AND "
                f"length({text}) BETWEEN 22 AND 30 AND {fraction} NOT GLOB '*[^0-9]*'))")
    micros = f"CAST(substr({fraction} || '00000', 1, 6) AS INTEGER)"
    return (f"CASE WHEN {readable} THEN CAST({seconds} AS INTEGER) * 1000000 + "
            f"CASE WHEN length({text}) = 20 THEN 0 ELSE {micros} END ELSE {text} END")


def text_of(time_us: str) -> str:
    """SQL for the timestamp text of the stored time ``time_us`` (an SQL expression)."""
    return (f"CASE WHEN typeof({time_us}) = 'integer' THEN strftime('%Y-%m-%dT%H:%M:%S', "
            f"{time_us} / 1000000, 'unixepoch') || printf('.%06dZ', {time_us} % 1000000) "
            f"ELSE {time_us} END")


def _stored(name: str) -> str:
    if name == "timestamp":
        return TIME_US
    return INTERNED[name].stored if name in INTERNED else name


CAPTURE_ROWS = Table(
    "capture_rows",
    # time_us is declared BLOB, the affinity that converts nothing: a number stays one,
    # and a text kept as it came ("2000") is not taken for a number.
    {_stored(n): int if n in INTERNED else bytes if n == "timestamp" else kind
     for n, kind in CAPTURE_COLUMNS.items()},
    pk="id", not_null=frozenset(_stored(n) for n in _CAPTURE_NOT_NULL),
    defaults={"recheck": 0},
    # (url_id, time_us) serves every lookup of a URL: by time either way, the latest
    # 2xx (walked back from the latest, a range scan of that URL's rows at worst), history.
    indexes=((("url_id", TIME_US), False), (("crawl_id",), False),
             (("warc_id", "offset"), True)),
    # Only a redirect's later hops have a via, and a revisit has no record ID of its own.
    partial_indexes=(("idx_capture_rows_via_present", "via"),
                     ("idx_capture_rows_record_id_present", "record_id")),
)

# The table schema 13 and earlier kept every capture in (the view's columns, whole).
_CAPTURES_TABLE = Table("captures", CAPTURE_COLUMNS, pk="id",
                        backfills={"payload_status": _payload_status})


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

TABLES = (URLS, WARC_NAMES, CAPTURE_ROWS, FAILURES, WARCS, CUSTODY)


def _intern(name: str) -> str:
    """Trigger statements that store NEW's value of an interned column once."""
    held = INTERNED[name]
    # Not INSERT OR IGNORE: a statement's own conflict clause (OR REPLACE) would override
    # it and give the value a new number under the rows that hold the old one.
    return (f"INSERT INTO {held.table} ([{held.column}]) SELECT NEW.[{name}] WHERE "
            f"NEW.[{name}] IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {held.table} WHERE "
            f"[{held.column}] = NEW.[{name}]);")


def _value(name: str, row: str = "NEW") -> str:
    """SQL for what capture_rows stores of ``row``'s column ``name`` (``NEW`` in a
    trigger, the old table's alias when it is moved)."""
    given = f"{row}.[{name}]"
    if name in INTERNED:
        held = INTERNED[name]
        return f"(SELECT id FROM {held.table} WHERE [{held.column}] = {given})"
    if name == "timestamp":
        return time_us_of(given)
    if name in CAPTURE_ROWS.defaults:
        return f"COALESCE({given}, {CAPTURE_ROWS.defaults[name]!r})"
    return given


def _read(name: str) -> str:
    """SQL for the view's column ``name``, from capture_rows (``r``) and its joins."""
    if name in INTERNED:
        return f"{INTERNED[name].alias}.[{INTERNED[name].column}]"
    if name == "timestamp":
        return text_of(f"r.{TIME_US}")
    return f"r.[{name}]"


# capture_rows' columns, in the order of the view's.
_STORED = ", ".join(f"[{_stored(n)}]" for n in CAPTURE_COLUMNS)


def _captures_view(db: Database) -> None:
    """(Re)create the ``captures`` view and the triggers that write through it, for the
    current columns: readers and writers name a capture's URL and file as before."""
    chosen = ", ".join([f"{_read(n)} AS [{n}]" for n in CAPTURE_COLUMNS]
                       + [f"r.{TIME_US} AS {TIME_US}"])
    values = ", ".join(_value(n) for n in CAPTURE_COLUMNS)
    interning = " ".join(_intern(n) for n in INTERNED)
    assignments = ", ".join(f"[{_stored(n)}] = {_value(n)}" for n in CAPTURE_COLUMNS)
    for trigger in ("captures_insert", "captures_update", "captures_delete"):
        db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    db.execute("DROP VIEW IF EXISTS captures")
    joins = " ".join(f"JOIN {held.table} AS {held.alias} ON {held.alias}.id = r.{held.stored}"
                     for held in INTERNED.values())
    db.execute(f"CREATE VIEW captures AS SELECT {chosen} FROM capture_rows AS r {joins}")
    db.execute(f"CREATE TRIGGER captures_insert INSTEAD OF INSERT ON captures BEGIN "
               f"{interning} INSERT INTO capture_rows ({_STORED}) VALUES ({values}); END")
    db.execute(f"CREATE TRIGGER captures_update INSTEAD OF UPDATE ON captures BEGIN "
               f"{interning} UPDATE capture_rows SET {assignments} WHERE id = OLD.id; END")
    db.execute("CREATE TRIGGER captures_delete INSTEAD OF DELETE ON captures BEGIN "
               "DELETE FROM capture_rows WHERE id = OLD.id; END")


def _move_captures_table(db: Database) -> None:
    """Schema 13 and earlier kept captures in a table: bring its columns up to date, move
    its rows into capture_rows (ids kept, so refers_to and the monitor's rows still
    point at them) and drop it, so the view can take its name."""
    ensure(db, _CAPTURES_TABLE)
    for name, held in INTERNED.items():
        db.execute(f"INSERT OR IGNORE INTO {held.table} ([{held.column}]) SELECT [{name}] "
                   f"FROM captures GROUP BY [{name}] ORDER BY MIN(id)")
    chosen = ", ".join(_value(n, "c") for n in CAPTURE_COLUMNS)
    db.execute(f"INSERT INTO capture_rows ({_STORED}) SELECT {chosen} FROM captures AS c "
               "ORDER BY c.id")
    db.execute("DROP TABLE captures")


def create_schema(db: Database) -> None:
    """Every table the archive reads and writes, as this version needs it."""
    kind = db.execute("SELECT type FROM sqlite_master WHERE name = 'captures'").fetchone()
    for table in TABLES:
        ensure(db, table)
    if kind is not None and kind[0] == "table":
        _move_captures_table(db)
    _captures_view(db)
    # Append-only: the custody log refuses updates and deletes at the database level too.
    for event in ("UPDATE", "DELETE"):
        db.execute(f"CREATE TRIGGER IF NOT EXISTS custody_no_{event.lower()} BEFORE {event} "
                   "ON custody BEGIN SELECT RAISE(ABORT, 'the custody log is append-only'); "
                   "END")
