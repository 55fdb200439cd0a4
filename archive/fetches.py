"""What one crawl fetched, read back compactly: its captures and failed fetches, for comparison."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from enum import StrEnum
from typing import Any

from sqlite_utils import Database

from archive.found_by import FoundBy
from archive.index import resolved_query


class FailureReason(StrEnum):
    """The ``error`` of a failure row when the crawl itself chose not to fetch or read a
    URL. Other failures keep the exception's name (``TimeoutError``, ``DNSLookupError``…)."""

    # Kept as the exception's old name: homes already hold rows that say it.
    ROBOTS = "RobotsTxtDisallowed"
    REDIRECT_LIMIT = "redirect-limit"
    TOO_LONG_URL = "too-long-url"
    DESTINATION_REFUSED = "destination-refused"
    DECODE_CAP = "decode-cap"
    BUDGET = "budget"
    IGNORED = "IgnoreRequest"  # another component's IgnoreRequest


# The crawl's own choices not to fetch (or read) a URL: they say nothing of the page, so
# the monitor and the rechecks leave them out (a refused citation is no dead link).
REFUSALS = (FailureReason.ROBOTS, FailureReason.BUDGET, FailureReason.DESTINATION_REFUSED,
            FailureReason.TOO_LONG_URL, FailureReason.DECODE_CAP)

Row = Mapping[str, Any]  # a row of captures or failures

# What a comparison reads of a crawl's captures and failures: every page of a crawl is
# held at once (20,000 rows of every column were 40 MB, the peak of a large crawl).
_CAPTURE_COLUMNS = ("id", "url", "timestamp", "status", "content_type", "digest", "warc",
                    "offset", "revisit", "found_by", "referrer", "source_id", "crawl_id",
                    "location", "via", "refers_to", "payload_status", "size")
_FAILURE_COLUMNS = "id, url, timestamp, error, found_by, referrer, source_id, crawl_id, via"
_REPEATED = ("kind", "found_by", "content_type", "warc", "referrer", "error")


class CompactRow(Mapping[str, Any]):
    """A read-only row: its values and the column index its query's rows share. The
    monitor holds a row per page of a crawl at once; as dicts, 20,000 were ~25 MB."""

    __slots__ = ("_index", "_values")

    def __init__(self, index: dict[str, int], values: tuple[Any, ...]) -> None:
        self._index = index
        self._values = values

    def __getitem__(self, key: str) -> Any:
        return self._values[self._index[key]]

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)


class CrawlFetches:
    """The captures and failures of crawls, as the monitor reads them."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _rows(self, sql: str, params: Sequence[Any]) -> Iterator[Row]:
        cursor = self.db.execute(sql, list(params))
        index = {column[0]: i for i, column in enumerate(cursor.description)}
        # Values most rows repeat (the WARC file, the referring page) are kept once.
        shared = [index[c] for c in _REPEATED if c in index]
        seen: dict[Any, Any] = {}
        for values in cursor:
            if shared:
                values = list(values)
                for i in shared:
                    values[i] = seen.setdefault(values[i], values[i])
                values = tuple(values)
            yield CompactRow(index, values)

    def capture(self, capture_id: int | None) -> Row | None:
        """One capture row, every column."""
        if capture_id is None:
            return None
        # db.query, not rows_where: that asks sqlite_master whether the table exists first.
        return next(self.db.query(resolved_query(None, "id = ?"), [capture_id]), None)

    def payload_holder(self, capture: Row | None) -> Row | None:
        """A revisit (identical payload, or a 304) stands for the capture it refers to."""
        seen = 0
        while capture is not None and capture.get("revisit") and capture.get("refers_to") \
                and seen < 10:
            capture, seen = self.capture(capture["refers_to"]), seen + 1
        return capture

    def first_fetches(self, crawl_id: int, found_by: Sequence[str]) -> Iterator[Row]:
        """The crawl's captures, then its failures, of URLs it asked for itself (not a
        redirect's later hops), found as ``found_by`` says; each row's ``kind`` is
        ``capture`` or ``failure``. URLs the crawl refused itself are no fetch at all."""
        marks = ", ".join("?" * len(found_by))
        chosen = resolved_query(_CAPTURE_COLUMNS, f"crawl_id = ? AND via IS NULL AND "
                                f"found_by IN ({marks})")
        yield from self._rows(f"SELECT *, 'capture' AS kind FROM ({chosen}) "
                              "ORDER BY timestamp, id", [crawl_id, *found_by])
        refused = ", ".join("?" * len(REFUSALS))
        yield from self._rows(
            f"SELECT {_FAILURE_COLUMNS}, 'failure' AS kind FROM failures "
            f"WHERE crawl_id = ? AND via IS NULL AND found_by IN ({marks}) "
            f"AND error NOT IN ({refused}) ORDER BY timestamp, id",
            [crawl_id, *found_by, *REFUSALS])

    def redirect_end(self, crawl_id: int, url: str) -> Row | None:
        """The last capture of the redirect chain that started at ``url`` in the crawl."""
        return next(self._rows(resolved_query(
            _CAPTURE_COLUMNS, "crawl_id = ? AND via = ? ORDER BY time_us DESC, id DESC "
            "LIMIT 1"), [crawl_id, url]), None)

    def probes(self, crawl_id: int) -> Iterator[Row]:
        """The crawl's 2xx answers to its made-up not-found URLs."""
        yield from self.db.query(resolved_query(
            None, "crawl_id = ? AND found_by = ? AND status BETWEEN 200 AND 299"),
            [crawl_id, FoundBy.PROBE])
