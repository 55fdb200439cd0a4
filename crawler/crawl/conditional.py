"""Recapture without re-downloading: conditional requests from the last capture's validators."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Headers, Response
from scrapy.settings import BaseSettings

from archive.digests import same_digest
from archive.found_by import FoundBy
from archive.index import Capture, CaptureIndex
from archive.reader import RecordNotFound, read_record
from archive.records import Original
from crawler.app.store import Store
from crawler.crawl.download import response_class
from spiders import meta

log = logging.getLogger(__name__)

# robots.txt and the not-found probe are always fetched in full.
_UNCONDITIONAL = (FoundBy.ROBOTS, FoundBy.PROBE)


@dataclass(frozen=True)
class RecaptureSettings:
    """The RECAPTURE_* settings, parsed once."""

    dedup: bool  # write an unchanged payload as a revisit record
    conditional: bool  # send If-None-Match / If-Modified-Since

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> RecaptureSettings:
        return cls(dedup=settings.getbool("RECAPTURE_DEDUP"),
                   conditional=settings.getbool("RECAPTURE_CONDITIONAL"))


class RevisitLookup:
    """Which archived record a new response repeats, if any: the one decision behind both
    kinds of revisit record."""

    def __init__(self, captures: CaptureIndex) -> None:
        self.captures = captures

    def original_for(self, url: str, status: int, payload_digest: str, *,
                     truncated: bool, conditional: int | None,
                     ) -> tuple[tuple[Capture, Original] | None, bool]:
        """For a 304 to our conditional request, the capture whose validators were sent
        (``conditional``); for a whole 2xx whose payload is the last one's, that one.
        Returns (the capture holding the payload and its record, whether server-not-
        modified), or (None, False) when the response is to be written in full."""
        if status == 304 and conditional is not None:
            found = self.captures.get(conditional)
            return (self._as_original(found), True) if found else (None, False)
        if not 200 <= status < 300 or truncated:
            return None, False
        last = self.captures.last_payload(url)
        if last is None or not same_digest(last.payload_digest, payload_digest):
            return None, False
        return self._as_original(last), False

    def _as_original(self, capture: Capture) -> tuple[Capture, Original]:
        # Point at the record that holds the payload, never at another revisit.
        first = self.captures.original(capture)
        return first, Original(record_id=first.record_id or "", target_uri=first.target_uri
                               or first.url, date=first.timestamp,
                               payload_digest=first.payload_digest or "")


def _changed_as_captured(capture: Capture) -> bool:
    """Whether the page was last modified in the second it was captured (or later, by a
    wrong clock): then its validators are weak (RFC 9110 8.8.2.2) and would not tell an
    edit made within that second (nginx's ETag is the file's time in seconds and its
    size), so the next capture asks for the page whole."""
    if not capture.last_modified:
        return False
    try:
        modified = parsedate_to_datetime(capture.last_modified)
    except (TypeError, ValueError):
        return True  # a date nobody can compare: the server's validators are not trusted
    if modified.tzinfo is None:
        modified = modified.replace(tzinfo=UTC)
    return modified > capture.moment - timedelta(seconds=1)


class ConditionalRequests:
    """Adds validators from the last 2xx capture of a URL; when the server answers 304
    (archived as a revisit by the archiver), hands the spider the archived response, so
    link discovery works as if the page had been downloaded."""

    def __init__(self, home: Path, parse_limit: int = 0) -> None:
        self.home = home
        self.store = Store.open(home / "vigil.db")
        self.parse_limit = parse_limit

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalRequests:
        settings = RecaptureSettings.from_settings(crawler.settings)
        home = crawler.settings.get("VIGIL_HOME")
        if not (settings.conditional and settings.dedup) or not home:
            raise NotConfigured
        return cls(Path(home), crawler.settings.getint("CRAWL_PARSE_LIMIT"))

    def process_request(self, request: Request) -> None:
        found_by = request.meta.get(meta.FOUND_BY)
        if request.method != "GET" or not found_by or found_by in _UNCONDITIONAL:
            return
        last = self.store.captures.last_payload(request.url)
        if last is None or not (last.etag or last.last_modified) or _changed_as_captured(last):
            return
        if last.etag:
            request.headers[b"If-None-Match"] = last.etag
        if last.last_modified:
            request.headers[b"If-Modified-Since"] = last.last_modified
        request.meta[meta.CONDITIONAL] = last.id

    def process_response(self, request: Request, response: Response) -> Response:
        capture_id = request.meta.get(meta.CONDITIONAL)
        if response.status != 304 or capture_id is None:
            return response
        last = self.store.captures.get(capture_id)
        original = self.store.captures.original(last) if last else None
        if original is None:
            return response
        if self.parse_limit and (original.size or 0) > self.parse_limit:
            # Too large to hand over in memory: the archived page's type, without its
            # body, is refused unread as a spooled body is (crawler/crawl/decoding.py).
            request.meta[meta.SPOOLED] = None
            request.meta[meta.RECEIVED] = original.size
            return _in_place_of(response, request, original.status,
                                Headers({"Content-Type": original.content_type or ""}), b"")
        try:
            stored = read_record(self.home / "warcs", original.warc, original.offset)
        except RecordNotFound as exc:
            log.warning("304 for %s but its capture cannot be read: %s", request.url, exc)
            return response
        headers = Headers()
        for name, value in stored.http_headers:
            headers.appendlist(name, value)
        # The body as archived, still content-encoded: the decompression middleware,
        # which runs after this one, decodes it as it would a fresh download.
        return _in_place_of(response, request, stored.status, headers, stored.body)


def _in_place_of(response: Response, request: Request, status: int | None, headers: Headers,
                 body: bytes) -> Response:
    """The archived page handed on in place of a 304: a new object of the archived page's
    class (replace() would carry attributes of the 304's class, a TextResponse's encoding,
    into, say, an image response)."""
    kind = response_class(headers, response.url, body)
    return kind(url=response.url, status=status or 200, headers=headers, body=body,
                flags=[*response.flags, meta.NOT_MODIFIED], request=request,
                protocol=response.protocol, ip_address=response.ip_address)
