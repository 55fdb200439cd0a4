"""Capture rows from WARC records: for each record written, and to rebuild the index."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

from archive.index import Capture, CaptureIndex
from archive.payload import sha256_digest, sha256_label
from archive.reader import StoredRecord, read_record
from archive.recovery import complete_members
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


def capture_of(record: StoredRecord, warc: str, offset: int, length: int,
               original: Capture | None = None, *, body_sha256: bytes | None = None) -> Capture:
    """The index row of a response or revisit record (``original``: what a revisit
    refers to, whose payload it serves; ``body_sha256``: the body's SHA-256, when the
    caller has already hashed it)."""
    status = record.status or 0
    revisit = record.rec_type == "revisit"
    payload = record.payload()
    # An uncoded payload is the body itself: no need to hash it again.
    known = body_sha256 if body_sha256 and payload is record.body else None
    location = next(iter(record.http_header_values("Location")), None)
    return Capture(
        url=normalize_url(record.target_uri),
        timestamp=record.warc_header("WARC-Date") or "",
        status=status,
        content_type=next(iter(record.http_header_values("Content-Type")), None) or (
            original.content_type if original else None),
        digest=original.digest if revisit and original else (
            sha256_label(known) if known else sha256_digest(payload)),
        payload_digest=record.warc_header("WARC-Payload-Digest"),
        warc=warc,
        offset=offset,
        length=length,
        revisit=revisit,
        truncated=None if revisit else record.warc_header("WARC-Truncated"),
        size=original.size if revisit and original else len(payload),
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


class Reindexer:
    """Makes the index agree with the WARC files: adds rows for records it lacks and
    removes rows that point at no record."""

    def __init__(self, index: CaptureIndex, warc_dir: Path) -> None:
        self.index = index
        self.warc_dir = warc_dir

    def run(self, names: list[str] | None = None) -> ReindexReport:
        """Reindex every closed WARC file, or only ``names`` (the files a repair touched)."""
        every = names is None
        files = sorted(p.name for p in self.warc_dir.glob("*.warc.gz")) if every \
            else sorted(n for n in names or [] if (self.warc_dir / n).exists())
        present: set[tuple[str, int]] = set()
        added = 0
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
        return ReindexReport(files=len(files), added=added, removed=len(dangling))

    def _index_file(self, name: str) -> tuple[list[int], int]:
        known = self.index.offsets_in(name)
        offsets, rows = [], []
        for offset, length in complete_members(self.warc_dir / name):
            offsets.append(offset)
            if offset in known:
                continue
            record = read_record(self.warc_dir, name, offset)
            if record.rec_type not in ("response", "revisit"):
                continue
            original = None
            if record.rec_type == "revisit":
                refers = record.warc_header("WARC-Refers-To")
                original = self.index.by_record_id(refers) if refers else None
            rows.append(capture_of(record, name, offset, length, original))
            if record.rec_type == "revisit" and original is None:
                log.warning("%s@%d: revisit of a record not in the index", name, offset)
        self.index.add(rows)
        return offsets, len(rows)
