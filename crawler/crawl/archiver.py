"""The Scrapy extension that writes every downloaded response to WARC and indexes it."""

from __future__ import annotations

import hashlib
import logging
import socket
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib.metadata import version
from io import BytesIO
from pathlib import Path
from typing import IO, Any

import scrapy
from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured, StopDownload
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.utils.defer import deferred_from_coro
from twisted.python.failure import Failure

from archive.cdxj import cdxj_line, scratch_lines, write_cdxj, write_zipnum
from archive.found_by import FoundBy
from archive.index import Capture
from archive.payload import DEFAULT_DECODE_CAP, stored_payload_fields
from archive.reader import StoredRecord
from archive.records import HttpExchange, Original, build_exchange_records, warc_digest
from archive.reindex import capture_of, provenance
from archive.timeutil import utcnow, warc_date
from archive.urls import normalize_url
from archive.warcfile import PendingWrite, RotatingWarcWriter
from crawler import __version__
from crawler.app.store import Store
from crawler.crawl.conditional import RecaptureSettings, RevisitLookup
from crawler.crawl.exchange import (
    WIRE_DEVIATIONS,
    chain_start,
    describe_error,
    exchange_of,
    found_by_of,
)
from spiders import meta
from spiders.failures import reason_of
from spiders.rendering import RECORD_ID, resource_captured
from spiders.signals import fetch_failed

log = logging.getLogger(__name__)

# The crawl's finish reason when the archive could not write or index.
ARCHIVE_FAILED = "archive_write_failed"


@dataclass(frozen=True)
class ArchiveSettings:
    """The ARCHIVE_* settings, parsed once."""

    home: Path
    crawl_id: int | None
    max_file_size: int
    max_payload: int
    index_batch: int
    gzip_level: int
    operator: str
    description: str
    db_timeout: float  # seconds an index write waits for a lock before the crawl fails
    # CRAWL_DECODE_CAP: a payload decoding past it is indexed as stored, marked.
    decode_cap: int = DEFAULT_DECODE_CAP

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> ArchiveSettings:
        home = settings.get("VIGIL_HOME")
        if not home:
            raise NotConfigured("VIGIL_HOME is not set")
        crawl_id = settings.getint("VIGIL_CRAWL_ID") or None
        return cls(
            home=Path(home),
            crawl_id=crawl_id,
            max_file_size=settings.getint("ARCHIVE_MAX_FILE_SIZE"),
            max_payload=settings.getint("ARCHIVE_MAX_PAYLOAD"),
            index_batch=max(1, settings.getint("ARCHIVE_INDEX_BATCH")),
            gzip_level=settings.getint("ARCHIVE_GZIP_LEVEL"),
            operator=settings.get("ARCHIVE_OPERATOR") or "",
            description=settings.get("ARCHIVE_DESCRIPTION") or "",
            db_timeout=settings.getfloat("ARCHIVE_DB_TIMEOUT", 30.0),
            decode_cap=settings.getint("CRAWL_DECODE_CAP", DEFAULT_DECODE_CAP),
        )


@dataclass(frozen=True)
class _Inflight:
    """A response whose records are submitted to the writer but not yet written."""

    pending: PendingWrite
    exchange: HttpExchange
    record: Any  # the response (or revisit) record
    original: tuple[Capture, Original] | None
    not_modified: bool
    found_by: str


class WarcArchiver:
    """Captures raw responses at ``response_downloaded``, before decompression middleware.

    Records reach the index only after ``sync()``: SQLite never names bytes that are
    not on disk. Every error while writing or indexing takes one path, ``_stop_writing``:
    the archive writes nothing more, the failure is recorded in the crawl's stats, the
    spider is closed, and ``spider_closed`` closes what it can (Scrapy would otherwise
    swallow a signal handler's exception and the crawl would report ``finished``).
    """

    def __init__(self, crawler: Crawler, config: ArchiveSettings) -> None:
        self.crawler = crawler
        self.config = config
        self.stats = crawler.stats
        self.store = Store.open(config.home / "vigil.db", timeout=config.db_timeout)
        self.recapture = RecaptureSettings.from_settings(crawler.settings)
        self.revisits = RevisitLookup(self.store.captures)
        self.writer = RotatingWarcWriter(
            config.home / "warcs", self._warcinfo(crawler.settings),
            max_size=config.max_file_size,
            on_close=self._index_closed,
            gzip_level=config.gzip_level,
        )
        self._pending: list[Capture] = []
        self._inflight: _Inflight | None = None
        self.failure: str | None = None  # why the archive stopped writing, if it did
        # CDXJ lines of the records in each open file, sorted and written out when it
        # closes. They wait on disk, in a file without a name (gone with the process): a
        # line per capture held in memory grew the crawl by ~8 MB per 20,000 pages.
        self._cdxj: dict[str, IO[str]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcArchiver:
        ext = cls(crawler, ArchiveSettings.from_settings(crawler.settings))
        crawler.signals.connect(ext.response_downloaded, signal=signals.response_downloaded)
        crawler.signals.connect(ext.bytes_received, signal=signals.bytes_received)
        crawler.signals.connect(ext.fetch_failed, signal=fetch_failed)
        crawler.signals.connect(ext.resource_captured, signal=resource_captured)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def _warcinfo(self, settings: BaseSettings) -> dict[str, str]:
        return {
            "software": f"vigil/{__version__} (Scrapy/{scrapy.__version__}; "
                        f"warcio/{version('warcio')})",
            "format": "WARC File Format 1.1",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/"
                          "warc-format/warc-1.1/",
            "hostname": socket.gethostname(),
            "operator": self.config.operator,
            "description": self.config.description,
            "isPartOf": f"vigil-crawl-{self.config.crawl_id}" if self.config.crawl_id else "",
            "http-header-user-agent": settings.get("USER_AGENT") or "",
            "robots": "obey (per-source override: ignore)" if settings.getbool(
                "ROBOTSTXT_OBEY") else "ignore",
            "wire-deviations": WIRE_DEVIATIONS,
        }

    def _cdxj_lines(self, warc: str) -> IO[str]:
        lines = self._cdxj.get(warc)
        if lines is None:  # closed when the WARC closes (_index_closed)
            lines = self._cdxj[warc] = scratch_lines(self.config.home / "indexes")
        return lines

    def _index_closed(self, warc: Path) -> None:
        lines = self._cdxj.pop(warc.name, None)
        if lines is None:  # nothing written through this archiver: read the file
            write_cdxj(warc, self.config.home / "indexes")
            return
        with lines:
            lines.seek(0)
            write_zipnum(lines, warc.name, self.config.home / "indexes")

    # -- signals ---------------------------------------------------------------
    def bytes_received(self, data: bytes, request: Request, spider: Spider) -> None:
        received = request.meta.get(meta.RECEIVED, 0) + len(data)
        request.meta[meta.RECEIVED] = received
        if self.config.max_payload and received > self.config.max_payload:
            request.meta[meta.TRUNCATED] = "length"
            raise StopDownload(fail=False)

    def response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        if self.failure is not None or not response.url.startswith(("http://", "https://")):
            return
        try:
            exchange = exchange_of(response, request, max_payload=self.config.max_payload,
                                   crawl_id=self.config.crawl_id)
            original, not_modified = self.revisits.original_for(
                exchange.url, exchange.status, exchange.payload_digest,
                truncated=bool(exchange.truncated),
                conditional=request.meta.get(meta.CONDITIONAL)) if self.recapture.dedup \
                else (None, False)
            response_record, request_record = build_exchange_records(
                self.writer.builder, exchange, original and original[1], not_modified)
            # A revisit has no request record (it carries the validators sent).
            pending = self.writer.submit(response_record, *(
                [request_record] if request_record is not None else []))
            # What a browser archives beside the page (its screenshot) points at this.
            request.meta[RECORD_ID] = response_record.rec_headers.get_header("WARC-Record-ID")
            # The previous response is written now, while this one is compressed on the
            # writer's thread as the crawl goes on: one response in flight at most.
            previous, self._inflight = self._inflight, _Inflight(
                pending, exchange, response_record, original, not_modified,
                found_by_of(request, response.url))
            self._finish(previous)
        except Exception as exc:  # noqa: BLE001 - a signal handler's boundary (see class)
            self._stop_writing("index" if isinstance(exc, sqlite3.Error) else "write", exc)

    def _finish(self, inflight: _Inflight | None) -> None:
        """Write a submitted response and queue its index row."""
        if inflight is None:
            return
        located = self.writer.finish(inflight.pending)[0]
        exchange, original = inflight.exchange, inflight.original
        self.stats.inc_value("archive/records_written", 1 if original is not None else 2)
        self.stats.inc_value("archive/responses")
        self.stats.inc_value(f"archive/found_by/{inflight.found_by}")
        self.stats.inc_value("archive/payload_bytes", exchange.body_length)
        if exchange.truncated:
            self.stats.inc_value(f"archive/truncated/{exchange.truncated}")
        if original is not None:
            self.stats.inc_value("archive/revisits/" + ("not_modified" if inflight.not_modified
                                                        else "identical"))
        stored = StoredRecord(
            rec_type=inflight.record.rec_type,
            target_uri=exchange.url,
            warc_headers=list(inflight.record.rec_headers.headers),
            status=exchange.status,
            http_headers=list(exchange.response_headers),
            body=b"" if original is not None else exchange.body,
        )
        row = capture_of(stored, located.warc, located.offset, located.length,
                         original[0] if original else None,
                         body_sha256=exchange.body_sha256, decode_cap=self.config.decode_cap)
        if exchange.spool is not None:
            # The body is in a file, not in the StoredRecord: its payload is read from there.
            if original is None:
                digest, size = stored_payload_fields(
                    exchange.body_chunks, stored.codings(), exchange.body_sha256,
                    exchange.body_length, self.config.decode_cap)
                row = replace(row, digest=digest, size=size)
            exchange.spool.close()
        self._cdxj_lines(located.warc).write(cdxj_line(
            target_uri=stored.target_uri, warc_date=row.timestamp, revisit=row.revisit,
            content_type=row.content_type, status=exchange.status,
            payload_digest=row.payload_digest, offset=located.offset, length=located.length,
            filename=located.warc))
        self._pending.append(replace(row, member_sha256=located.member_sha256))
        if len(self._pending) >= self.config.index_batch:
            self._flush()

    def resource_captured(self, uri: str, content_type: str, body: bytes, request: Request,
                          spider: Spider) -> None:
        """A record made by the crawl, not fetched (a rendered page's screenshot, its DOM):
        a ``resource`` record WARC-Concurrent-To the page's response, indexed under its
        own URI (``urn:screenshot:<url>``)."""
        if self.failure is not None:
            return
        try:
            self._write_resource(uri, content_type, body, request)
        except Exception as exc:  # noqa: BLE001 - a signal handler's boundary (see class)
            self._stop_writing("index" if isinstance(exc, sqlite3.Error) else "write", exc)

    def _write_resource(self, uri: str, content_type: str, body: bytes,
                        request: Request) -> None:
        digest = warc_digest(hashlib.sha256(body).digest())
        fields = {"WARC-Date": warc_date(utcnow()), "WARC-Payload-Digest": digest,
                  "WARC-Block-Digest": digest}
        if request.meta.get(RECORD_ID):
            fields["WARC-Concurrent-To"] = request.meta[RECORD_ID]
        fields.update(provenance(
            found_by=FoundBy.OTHER, referrer=request.url,
            source_id=request.meta.get(meta.SOURCE), crawl_id=self.config.crawl_id,
            via=None, recheck=False))
        record = self.writer.builder.create_warc_record(
            uri, "resource", payload=BytesIO(body), length=len(body),
            warc_content_type=content_type, warc_headers_dict=fields)
        located = self.writer.write(record)[0]
        self.stats.inc_value("archive/records_written")
        self.stats.inc_value("archive/resources")
        stored = StoredRecord(rec_type="resource", target_uri=uri,
                              warc_headers=list(record.rec_headers.headers), status=200,
                              http_headers=[("Content-Type", content_type)], body=body)
        row = capture_of(stored, located.warc, located.offset, located.length,
                         body_sha256=hashlib.sha256(body).digest())
        self._cdxj_lines(located.warc).write(cdxj_line(
            target_uri=uri, warc_date=row.timestamp, revisit=False, content_type=content_type,
            status=200, payload_digest=digest, offset=located.offset, length=located.length,
            filename=located.warc))
        self._pending.append(replace(row, member_sha256=located.member_sha256))
        if len(self._pending) >= self.config.index_batch:
            self._flush()

    def fetch_failed(self, request: Request, failure: Failure, spider: Spider) -> None:
        error = failure.value
        assert error is not None
        name = reason_of(error)
        self.stats.inc_value("crawl/failures")
        self.stats.inc_value(f"crawl/failures/{name}")
        try:
            self.store.add_failures([{
                "url": normalize_url(request.url),
                "timestamp": warc_date(utcnow()),
                "error": name,
                "message": describe_error(error)[:1000],
                "found_by": request.meta.get(meta.FOUND_BY),
                "referrer": request.meta.get(meta.REFERRER),
                "source_id": request.meta.get(meta.SOURCE),
                "crawl_id": self.config.crawl_id,
                "via": chain_start(request),
                "recheck": int(bool(request.meta.get(meta.RECHECK))),
            }])
        except sqlite3.Error as exc:
            self._stop_writing("index", exc)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        """Close what can be closed. After a failure the response in flight is not
        written; the file is still closed (its sync proves what it holds is on disk) and
        rows of records written are still indexed: nothing written is lost, and a row
        never names bytes that are not on disk (a file whose close fails stays
        ``.open`` for the next start's repair)."""
        if self.failure is None:
            self._step("write", lambda: self._finish(self._take_inflight()))
        closed = self._step("close", self.writer.close)
        if closed:
            self._step("index", self._flush)
        self._step("index", lambda: self.store.record_closed_warcs(
            self.writer.closed_files, self.config.crawl_id, self.config.home / "warcs",
            self.writer.closed_sha256))
        self.stats.set_value("archive/warc_files", len(self.writer.closed_files))
        self.stats.set_value("archive/warc_names", list(self.writer.closed_files))
        self.stats.set_value("archive/warc_bytes", self.writer.bytes_written)
        self._step("index", self.store.close)

    # -- internals -------------------------------------------------------------
    def _take_inflight(self) -> _Inflight | None:
        inflight, self._inflight = self._inflight, None
        return inflight

    def _step(self, stage: str, action: Callable[[], object]) -> bool:
        """One step of closing: a failure is recorded and the next step still runs."""
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - each closing step runs whatever failed
            self._stop_writing(stage, exc)
            return False
        return True

    def _flush(self) -> None:
        if not self._pending:
            return
        self.writer.sync()
        self.store.captures.add(self._pending)
        self.stats.inc_value("archive/indexed", len(self._pending))
        self._pending = []

    def _stop_writing(self, stage: str, exc: BaseException) -> None:
        """The one failure path: write nothing more, say why, and stop the crawl."""
        self.stats.inc_value("archive/write_errors")
        if self.failure is not None:
            log.error("archive %s failed too: %s", stage, describe_error(exc))
            return
        self.failure = f"{stage} failed: {describe_error(exc)}"
        self.stats.set_value("archive/failure", self.failure)
        log.error("the archive stopped writing (%s); the crawl stops", self.failure)
        engine = self.crawler.engine
        if engine is not None and engine.spider is not None:
            deferred_from_coro(engine.close_spider_async(reason=ARCHIVE_FAILED))
