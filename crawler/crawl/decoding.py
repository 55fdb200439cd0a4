"""Content decoding with a cap: a small body that inflates to gigabytes is archived, not read."""

from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils._compression import _DecompressionMaxSizeExceeded

from archive.payload import (
    DEFAULT_DECODE_CAP,
    DecodeCapExceeded,
    PayloadDecodeError,
    content_codings,
    iter_decoded,
)
from spiders.failures import DecodeCapReached

# zlib's deflate cannot expand data more than about 1032 times: a single gzip or deflate
# body this many times smaller than the cap cannot reach it.
_DEFLATE_RATIO = 1100
_DEFLATE = ("gzip", "x-gzip", "deflate")


def decodes_past(body: bytes, codings: list[str], cap: int) -> bool:
    """Whether ``body`` decodes to more than ``cap`` bytes, found in 64 KB pieces that are
    let go at once. Scrapy's own decoder, which holds all it has decoded, then runs only
    on bodies that fit: a bomb costs the crawl a pass of CPU, never the cap in memory."""
    if not codings or (len(codings) == 1 and codings[0] in _DEFLATE
                       and len(body) * _DEFLATE_RATIO <= cap):
        return False
    try:
        for _piece in iter_decoded((body,), codings, cap):
            pass
    except DecodeCapExceeded:
        return True
    except PayloadDecodeError:  # undecodable: Scrapy's decoder decides, as before
        return False
    return False


class CappedDecompression(HttpCompressionMiddleware):
    """Scrapy's HttpCompressionMiddleware, its size guard set to CRAWL_DECODE_CAP.

    Scrapy takes that guard from DOWNLOAD_MAXSIZE, which vigil leaves at 0: that limit
    would also abort the download itself, and the archive keeps raw bodies up to
    ARCHIVE_MAX_PAYLOAD (cut and marked past it). The archiver has written the response
    before this runs; here a body that decodes past the cap (or is larger than the cap
    as sent) is only kept from the spider, which records it as a ``decode-cap`` failure.
    """

    def __init__(self, *, crawler: Crawler) -> None:
        super().__init__(crawler=crawler)
        self._max_size = crawler.settings.getint("CRAWL_DECODE_CAP", DEFAULT_DECODE_CAP)
        self._warn_size = 0

    def process_response(self, request: Request,  # type: ignore[override]
                         response: Response) -> Request | Response:
        cap = self._max_size
        if cap and len(response.body) > cap:
            raise DecodeCapReached(f"the body ({len(response.body)} B) is larger than "
                                   f"CRAWL_DECODE_CAP ({cap} B): archived, not read")
        codings = content_codings(v.decode("latin-1") for v in
                                  response.headers.getlist(b"Content-Encoding"))
        if request.method != "HEAD" and decodes_past(response.body, codings, cap):
            raise DecodeCapReached(
                f"the body ({len(response.body)} B as sent) decodes to more than "
                f"CRAWL_DECODE_CAP ({cap} B): archived, not read")
        try:
            return super().process_response(request, response)
        except IgnoreRequest as exc:
            cause = exc.__cause__
            if isinstance(cause, _DecompressionMaxSizeExceeded):
                raise DecodeCapReached(
                    f"the body ({len(response.body)} B as sent) decodes to more than "
                    f"CRAWL_DECODE_CAP ({cap} B): archived, not read") from exc
            raise
