"""Capture rows from WARC records: for each record written, and to rebuild the index."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urljoin

from archive.index import Capture, CaptureIndex
from archive.payload import (
    DEFAULT_DECODE_CAP,
    DecodeCapExceeded,
    is_stored_digest,
    sha256_label,
    stored_sha256_label,
)
from archive.reader import StoredRecord, read_record
from archive.recovery import complete_members
from archive.resources import DOM_PREFIX, SCREENSHOT_PREFIX
from archive.urls import normalize_url
from archive.warcfile import OPEN_SUFFIX

log = logging.getLogger(__name__)

# WARC extension fields (WARC 1.1 allows named fields of one's own): how vigil came to
# fetch a URL, so that the index can be rebuilt from the WARC files alone.
FOUND_BY, REFERRER, SOURCE, CRAWL, VIA, RECHECK = (
    "Vigil-Found-By", "Vigil-Referrer", "Vigil-Source", "Vigil-Crawl", "Vigil-Via",
    "Vigil-Recheck")


def provenance(found_by: str | None, referrer: str | None, source_id: int | None,
               crawl_id: int | None, via: str | None, recheck: bool) -> tuple[tuple[str, str], ...]:
    fields = [(FOUND_BY, found_by), (REFERRER, referrer), (SOURCE, source_id),
              (CRAWL, crawl_id), (VIA, via), (RECHECK, "1" if recheck else None)]
    return tuple((name, str(value)) for name, value in fields if value is not None)


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _payload_fields(record: StoredRecord, body_sha256: bytes | None, cap: int,
                    ) -> tuple[str, int]:
    """(digest, size) of a record's payload, found without holding it whole; for a
    payload past the decode cap, of the body as stored, labelled so (the mark)."""
    if not record.codings() and body_sha256:
        return sha256_label(body_sha256), len(record.body)  # the body is the payload
    try:
        digest, size = record.payload_sha256(cap)
    except DecodeCapExceeded as exc:
        log.warning("%s: kept undecoded: %s", record.target_uri, exc)
        stored = body_sha256 or hashlib.sha256(record.body).digest()
        return stored_sha256_label(stored), len(record.body)
    return sha256_label(digest), size


def capture_of(record: StoredRecord, warc: str, offset: int, length: int,
               original: Capture | None = None, *, body_sha256: bytes | None = None,
               decode_cap: int = DEFAULT_DECODE_CAP) -> Capture:
    """The index row of a response or revisit record (``original``: what a revisit
    refers to, whose payload it serves; ``body_sha256``: the body's SHA-256, when the
    caller has already hashed it). A payload that decodes past ``decode_cap`` is not
    decoded: its row's digest is ``sha256-stored:`` of the body (``is_stored_digest``)."""
    status = record.status or 0
    revisit = record.rec_type == "revisit"
    if revisit and original:
        digest, size = original.digest, original.size
    else:
        digest, size = _payload_fields(record, body_sha256, decode_cap)
    location = next(iter(record.http_header_values("Location")), None)
    return Capture(
        url=normalize_url(record.target_uri),
        timestamp=record.warc_header("WARC-Date") or "",
        status=status,
        content_type=next(iter(record.http_header_values("Content-Type")), None) or (
            original.content_type if original else None),
        digest=digest,
        payload_digest=record.warc_header("WARC-Payload-Digest"),
        warc=warc,
        offset=offset,
        length=length,
        revisit=revisit,
        truncated=None if revisit else record.warc_header("WARC-Truncated"),
        size=size,
        record_id=record.warc_header("WARC-Record-ID"),
        ip_address=record.warc_header("WARC-IP-Address"),
        target_uri=record.target_uri,
        found_by=record.warc_header(FOUND_BY),
        referrer=record.warc_header(REFERRER),
        source_id=_int(record.warc_header(SOURCE)),
        crawl_id=_int(record.warc_header(CRAWL)),
        location=normalize_url(urljoin(record.target_uri, location))
        if location and 300 <= status < 400 else None,
        via=record.warc_header(VIA),
        recheck=record.warc_header(RECHECK) == "1",
        refers_to=original.id if revisit and original else None,
        payload_status=(original.payload_status if revisit and original else status),
        etag=next(iter(record.http_header_values("ETag")), None),
        last_modified=next(iter(record.http_header_values("Last-Modified")), None),
    )


@dataclass(frozen=True)
class ReindexReport:
    files: int
    added: int
    removed: int
    undecoded: int = 0  # rows added for payloads past the decode cap, marked
    unreadable: int = 0  # records that could not be read, left unindexed


RENDERED_PREFIXES = (SCREENSHOT_PREFIX, DOM_PREFIX)


class Reindexer:
    """Makes the index agree with the WARC files: adds rows for records it lacks and
    removes rows that point at no record."""

    def __init__(self, index: CaptureIndex, warc_dir: Path,
                 decode_cap: int = DEFAULT_DECODE_CAP) -> None:
        self.index = index
        self.warc_dir = warc_dir
        self.decode_cap = decode_cap
        self._undecoded = self._unreadable = 0

    def run(self, names: list[str] | None = None) -> ReindexReport:
        """Reindex every closed WARC file, or only ``names`` (the files a repair touched)."""
        every = names is None
        files = sorted(p.name for p in self.warc_dir.glob("*.warc.gz")) if every \
            else sorted(n for n in names or [] if (self.warc_dir / n).exists())
        present: set[tuple[str, int]] = set()
        added = 0
        self._undecoded = self._unreadable = 0
        for name in files:
            offsets, new = self._index_file(name)
            present |= {(name, o) for o in offsets}
            added += new
        scope = set(names or []) if not every else None
        # A file still being written (.open) belongs to a running crawl: its rows stand.
        writing = {p.name.removesuffix(OPEN_SUFFIX) for p in self.warc_dir.glob(
            f"*.warc.gz{OPEN_SUFFIX}")}
        dangling = [c.id for c in self.index.all() if c.id is not None
                    and (scope is None or c.warc in scope) and c.warc not in writing
                    and (c.warc, c.offset) not in present]
        self.index.delete(dangling)
        if dangling:
            log.warning("removed %d index rows that pointed at no WARC record", len(dangling))
        return ReindexReport(files=len(files), added=added, removed=len(dangling),
                             undecoded=self._undecoded, unreadable=self._unreadable)

    def _index_file(self, name: str) -> tuple[list[int], int]:
        known = self.index.offsets_in(name)
        offsets, rows = [], []
        for offset, length in complete_members(self.warc_dir / name):
            offsets.append(offset)
            if offset in known:
                continue
            try:
                row = self._row(name, offset, length)
            except Exception as exc:  # noqa: BLE001 -- one record must not stop a reindex
                self._unreadable += 1
                log.warning("%s@%d: record not indexed: %s: %s", name, offset,
                            type(exc).__name__, exc)
                continue
            if row is not None:
                rows.append(row)
                self._undecoded += is_stored_digest(row.digest) and not row.revisit
        self.index.add(rows)
        return offsets, len(rows)

    def _row(self, name: str, offset: int, length: int) -> Capture | None:
        record = read_record(self.warc_dir, name, offset)
        if record.rec_type == "resource" and record.target_uri.startswith(RENDERED_PREFIXES):
            # A rendered page's screenshot or DOM: indexed as the archiver indexes it.
            record = replace(record, status=200, http_headers=[
                ("Content-Type", record.warc_header("Content-Type") or "")])
            return capture_of(record, name, offset, length, None, decode_cap=self.decode_cap)
        if record.rec_type not in ("response", "revisit"):
            return None
        original = None
        if record.rec_type == "revisit":
            refers = record.warc_header("WARC-Refers-To")
            original = self.index.by_record_id(refers) if refers else None
            if original is None:
                log.warning("%s@%d: revisit of a record not in the index", name, offset)
        return capture_of(record, name, offset, length, original,
                          decode_cap=self.decode_cap)
