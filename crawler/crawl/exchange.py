"""From a Scrapy response to the HTTP exchange the archive writes, as it came off the wire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.http import Response

from archive.found_by import FoundBy
from archive.records import HttpExchange
from archive.reindex import provenance
from archive.timeutil import utcnow
from archive.urls import normalize_url
from spiders import meta

# Written into every warcinfo record: where these files differ from the bytes on
# the wire, so a reader never mistakes our choices for the server's.
WIRE_DEVIATIONS = (
    "chunked transfer coding is removed by the HTTP client and no Transfer-Encoding "
    "header is kept, so the stored body is the de-chunked entity body; "
    "Content-Encoding (gzip, br, deflate) is kept as served. "
    "Header names are in Scrapy's canonical case and grouped by name: the original "
    "order and case are lost, every value of a repeated header is kept. "
    "Connection-level headers (Connection, Keep-Alive) are consumed by the client. "
    "Request records are rebuilt from the request Scrapy sent, with the Host header "
    "added first. Payloads over the cap are cut and marked WARC-Truncated: length; "
    "bodies the server cut short are marked WARC-Truncated: disconnect."
)


def exchange_of(response: Response, request: Request, *, max_payload: int,
                crawl_id: int | None) -> HttpExchange:
    """The exchange as it came off the wire, with vigil's provenance fields."""
    body = response.body
    # A body past CRAWL_PARSE_LIMIT is in a file (crawler/crawl/download.py), not in hand.
    spool = request.meta.get(meta.SPOOLED)
    truncated = request.meta.get(meta.TRUNCATED)
    if truncated == "length":
        if spool is not None:
            spool.truncate(max_payload)
        else:
            body = body[:max_payload]
    elif "dataloss" in response.flags:
        truncated = "disconnect"
    reason = request.meta.pop(meta.REASON, None)
    if reason is None:
        try:
            reason = HTTPStatus(response.status).phrase
        except ValueError:
            reason = ""
    started = request.meta.get(meta.STARTED)
    # Without our download handler's mark (another handler, a test's), the time the
    # headers took to come is all Scrapy measures.
    date = (datetime.fromtimestamp(started, UTC) if started is not None else
            utcnow() - timedelta(seconds=float(request.meta.get("download_latency") or 0)))
    fields = provenance(
        found_by=found_by_of(request, response.url),
        referrer=request.meta.get(meta.REFERRER),
        source_id=request.meta.get(meta.SOURCE),
        crawl_id=crawl_id, via=chain_start(request),
        recheck=bool(request.meta.get(meta.RECHECK)))
    return HttpExchange(
        url=response.url,
        method=request.method,
        request_headers=_request_headers(request),
        request_body=request.body,
        protocol=response.protocol or "HTTP/1.1",
        status=response.status,
        reason=reason,
        response_headers=_all_headers(response.headers),
        body=body,
        date=date,
        ip_address=str(response.ip_address) if response.ip_address else None,
        truncated=truncated,
        provenance=fields,
        spool=spool,
    )


def describe_error(error: BaseException) -> str:
    """A readable message: Scrapy wraps Twisted's failures in lists of Failure objects."""
    cause: BaseException | None = error
    while cause is not None:
        reasons = getattr(cause, "reasons", None)
        if reasons:
            inner = reasons[0].value
            return f"{type(inner).__name__}: {inner}".strip()
        cause = cause.__cause__
    return str(error).strip() or type(error).__name__


def _all_headers(headers: Any) -> list[tuple[str, str]]:
    # getlist(): plain indexing keeps only the last value of a repeated header.
    return [(name.decode("latin-1"), value.decode("latin-1"))
            for name in headers for value in headers.getlist(name)]


def _request_headers(request: Request) -> list[tuple[str, str]]:
    # Twisted adds Host itself, so Scrapy's request never has it.
    host = [("Host", urlsplit(request.url).netloc)]
    sent = [(k, v) for k, v in _all_headers(request.headers) if k.lower() != "host"]
    return host + sent


def found_by_of(request: Request, url: str) -> str:
    return str(request.meta.get(meta.FOUND_BY) or _unsolicited(url))


def chain_start(request: Request) -> str | None:
    # RedirectMiddleware lists the URLs a redirected request came through.
    chain = request.meta.get(meta.REDIRECT_URLS)
    return normalize_url(chain[0]) if chain else None


def _unsolicited(url: str) -> str:
    return FoundBy.ROBOTS if url.split("?")[0].endswith("/robots.txt") else FoundBy.OTHER
