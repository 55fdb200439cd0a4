"""Content decoding with a cap: a small body that inflates to gigabytes is archived, not read."""

from __future__ import annotations

import logging
import sys

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares import httpcompression
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils._compression import _DecompressionMaxSizeExceeded

from archive.index import is_html
from archive.payload import (
    DEFAULT_DECODE_CAP,
    DecodeCapExceeded,
    PayloadDecodeError,
    decode_payload,
    iter_decoded,
)
from spiders import meta
from spiders.failures import DecodeCapReached
from spiders.rendering import RENDERING

# Decoded bytes held while a body's size is not yet known: past this, the rest is only
# counted, and a body that then fits the cap is decoded again (a page this large is rare;
# a bomb is not, and must not cost the cap in memory).
HELD = 16 << 20


class _CapNamedWrongly(logging.Filter):
    """Scrapy's warning for a body past the cap names DOWNLOAD_MAXSIZE, which vigil leaves
    at 0; the failure row (decode-cap) says what happened, with the right setting."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "exceeded DOWNLOAD_MAXSIZE" not in record.getMessage()


logging.getLogger(httpcompression.__name__).addFilter(_CapNamedWrongly())


class _Undecodable(ValueError):
    """Not decodable by archive.payload's decoders: Scrapy's own decide."""


def decode_capped(body: bytes, codings: list[str], cap: int) -> bytes:
    """``body`` with its content codings (in the order applied) undone, at most ``cap``
    bytes of it. Raises _DecompressionMaxSizeExceeded past the cap, _Undecodable when the
    archive's decoders cannot read it."""
    pieces: list[bytes] = []
    size, limit = 0, cap or sys.maxsize  # 0: no cap
    try:
        for piece in iter_decoded((body,), codings, limit):
            size += len(piece)
            if size <= HELD:
                pieces.append(piece)
            elif pieces:
                pieces.clear()
        if size <= HELD:
            return b"".join(pieces)
        return decode_payload(body, codings, limit)
    except DecodeCapExceeded as exc:
        raise _DecompressionMaxSizeExceeded(size, cap) from exc
    except PayloadDecodeError as exc:
        raise _Undecodable(str(exc)) from exc


def _read_by_spider(response: Response) -> bool:
    """Whether the spider reads links from this body: a page (or a body of no declared
    type, which may be one) or a stylesheet."""
    content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
    return is_html(content_type) or "css" in content_type.lower()


class CappedDecompression(HttpCompressionMiddleware):
    """Scrapy's HttpCompressionMiddleware, its size guard set to CRAWL_DECODE_CAP.

    Scrapy takes that guard from DOWNLOAD_MAXSIZE, which vigil leaves at 0: that limit
    would also abort the download itself, and the archive keeps raw bodies up to
    ARCHIVE_MAX_PAYLOAD (cut and marked past it). The archiver has written the response
    before this runs; here a body that decodes past the cap (or is larger than the cap
    as sent) is only kept from the spider, which records it as a ``decode-cap`` failure.
    Scrapy's decoders hold everything they decode until the cap; the archive's streaming
    ones decode here (Scrapy's still read what they cannot, zstd or a damaged body).
    What is decoded is held, so a body is decoded only to CRAWL_PARSE_LIMIT (the browser's
    requests to the cap): a page or stylesheet past it is refused as above, anything else
    goes on as received.
    """

    def __init__(self, *, crawler: Crawler) -> None:
        super().__init__(crawler=crawler)
        self._max_size = crawler.settings.getint("CRAWL_DECODE_CAP", DEFAULT_DECODE_CAP)
        self._warn_size = 0
        self._parse_limit = crawler.settings.getint("CRAWL_PARSE_LIMIT")
        self._limit = 0  # the decoded bytes the response being decoded may reach

    def _unread(self, request: Request, response: Response) -> Response:
        """A body past CRAWL_PARSE_LIMIT went to disk as it arrived and was archived from
        there; it is never decoded or parsed whole. A page or stylesheet, whose links the
        spider would read, is refused (a ``decode-cap`` failure row says so, beside the
        capture); anything else reaches the spider as it is (without a body if spooled),
        as nothing is read of it anyway."""
        if _read_by_spider(response):
            if self.stats is not None:
                self.stats.inc_value("crawl/unread/parse-limit")
            size = request.meta.get(meta.RECEIVED) or len(response.body)
            raise DecodeCapReached(
                f"the body ({size} B as received) is larger than CRAWL_PARSE_LIMIT "
                f"({self._parse_limit} B): archived, its links not read")
        return response

    def _handle_encoding(self, body: bytes, content_encoding: list[bytes],
                         max_size: int) -> tuple[bytes, list[bytes]]:
        if self._limit:  # this response's, set by process_response
            max_size = self._limit
        to_decode, to_keep = self._split_encodings(content_encoding)
        # Scrapy lists them last applied first.
        applied = [c.decode("latin-1") for c in reversed(to_decode)]
        try:
            return decode_capped(body, applied, max_size), to_keep
        except _Undecodable:
            return super()._handle_encoding(body, content_encoding, max_size)

    def process_response(self, request: Request,  # type: ignore[override]
                         response: Response) -> Request | Response:
        # A body in hand past the limit is a 304's archived original (conditional.py).
        if meta.SPOOLED in request.meta or len(response.body) > self._parse_limit > 0:
            return self._unread(request, response)
        cap = self._max_size
        if cap and len(response.body) > cap:
            raise DecodeCapReached(f"the body ({len(response.body)} B) is larger than "
                                   f"CRAWL_DECODE_CAP ({cap} B): archived, not read")
        # What is decoded is held, so it is decoded only as far as the parse limit, but
        # for the browser's requests: a page's scripts must run, whatever their size.
        limit = self._parse_limit if RENDERING not in request.meta else 0
        self._limit = limit if limit and (not cap or limit < cap) else 0
        try:
            return super().process_response(request, response)
        except IgnoreRequest as exc:
            if not isinstance(exc.__cause__, _DecompressionMaxSizeExceeded):
                raise
            if not self._limit:
                raise DecodeCapReached(
                    f"the body ({len(response.body)} B as sent) decodes to more than "
                    f"CRAWL_DECODE_CAP ({cap} B): archived, not read") from exc
            if not _read_by_spider(response):
                return response  # archived; nothing of it is read: handed on as received
            if self.stats is not None:
                self.stats.inc_value("crawl/unread/parse-limit")
            raise DecodeCapReached(
                f"the body ({len(response.body)} B as sent) decodes to more than "
                f"CRAWL_PARSE_LIMIT ({self._limit} B): archived, its links not "
                f"read") from exc
        finally:
            self._limit = 0
