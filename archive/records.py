"""Build WARC request/response records from one HTTP exchange, as it came off the wire."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from io import BytesIO
from typing import IO, Any
from urllib.parse import urlsplit

from warcio.recordbuilder import RecordBuilder
from warcio.statusandheaders import StatusAndHeaders

from archive.digests import warc_sha256
from archive.timeutil import warc_date

# Headers a reader would apply again to a body we store decoded of them.
# Twisted already moves Transfer-Encoding out of the response headers when it
# de-chunks; this is the safety net for any other HTTP client feeding us.
_HOP_BY_HOP_RENAMED = {"transfer-encoding": "X-Vigil-Orig-Transfer-Encoding"}

# How much of a spooled body is read at a time.
SPOOL_READ = 1 << 20


class LatinHeaders(StatusAndHeaders):  # type: ignore[misc]
    """Headers serialised byte for byte: values are latin-1 decoded wire bytes.

    warcio would percent-encode non-ASCII header bytes; evidence keeps them as sent.
    """

    def compute_headers_buffer(self, header_filter: Any = None) -> None:
        self.headers_buff = self.to_str(header_filter).encode("latin-1") + b"\r\n"


@dataclass(frozen=True)
class HttpExchange:
    """One fetch: the request as sent and the response as received."""

    url: str
    method: str
    request_headers: Sequence[tuple[str, str]]
    request_body: bytes
    protocol: str
    status: int
    reason: str
    response_headers: Sequence[tuple[str, str]]
    body: bytes
    date: datetime
    ip_address: str | None = None
    # WARC-Truncated reason: "length" (our cap), "disconnect" (server hung up), ...
    truncated: str | None = None
    # Extension fields (WARC 1.1 allows named fields of one's own): how vigil came to
    # fetch this, so the index can be rebuilt from the WARC alone.
    provenance: tuple[tuple[str, str], ...] = ()
    # A body too large to hold (spooled to disk as it arrived): the whole of this file is
    # the body, read in chunks, and ``body`` is empty.
    spool: IO[bytes] | None = None

    @cached_property
    def body_length(self) -> int:
        """Bytes of the body as stored."""
        if self.spool is None:
            return len(self.body)
        return os.fstat(self.spool.fileno()).st_size

    def body_chunks(self) -> Iterator[bytes]:
        """The body as stored, in pieces of at most a mebibyte."""
        if self.spool is None:
            yield self.body
            return
        self.spool.seek(0)
        while chunk := self.spool.read(SPOOL_READ):
            yield chunk

    def body_stream(self) -> IO[bytes]:
        """The body as stored, as a file at its start (the record's payload)."""
        if self.spool is None:
            return BytesIO(self.body)
        self.spool.seek(0)
        return self.spool

    @cached_property
    def body_sha256(self) -> bytes:
        """SHA-256 of the body as stored (hashed once: the record, the revisit decision
        and the index row all need it)."""
        if self.spool is None:
            return hashlib.sha256(self.body).digest()
        hasher = hashlib.sha256()
        for chunk in self.body_chunks():
            hasher.update(chunk)
        return hasher.digest()

    @property
    def payload_digest(self) -> str:
        """The body's WARC-Payload-Digest."""
        return warc_digest(self.body_sha256)


def warc_digest(sha256: bytes) -> str:
    """A WARC digest field for a SHA-256 digest: hex, inside WARC 1.1's grammar and read
    by every validator (archive/digests.py says why not warcio's padded base32)."""
    return warc_sha256(sha256)


_EMPTY_DIGEST = warc_digest(hashlib.sha256(b"").digest())


def _digest_fields(http: StatusAndHeaders, body: bytes | Iterable[bytes],
                   payload_digest: str) -> dict[str, str]:
    """Block and payload digests from the bytes in hand (or read in chunks); warcio
    would read the payload twice more to make them. SHA-256, as RotatingWarcWriter's
    builder makes them."""
    http.compute_headers_buffer()
    block = hashlib.sha256(http.headers_buff)
    for chunk in (body,) if isinstance(body, bytes) else body:
        block.update(chunk)
    return {"WARC-Payload-Digest": payload_digest,
            "WARC-Block-Digest": warc_digest(block.digest())}


REVISIT_IDENTICAL = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
REVISIT_NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"


@dataclass(frozen=True)
class Original:
    """The record a revisit refers to."""

    record_id: str
    target_uri: str
    date: str  # its WARC-Date
    payload_digest: str


def request_target(url: str) -> str:
    """The request line's target: path and query string, never the fragment."""
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return target


def response_headers_for_warc(headers: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    renamed = []
    for name, value in headers:
        new_name = _HOP_BY_HOP_RENAMED.get(name.lower())
        renamed.append((new_name or name, value))
    return renamed


def _response_fields(exchange: HttpExchange) -> dict[str, str]:
    fields = {"WARC-Date": warc_date(exchange.date)}
    if exchange.ip_address:
        fields["WARC-IP-Address"] = exchange.ip_address
    if exchange.truncated:
        fields["WARC-Truncated"] = exchange.truncated
    fields.update(exchange.provenance)
    return fields


def _http_response(exchange: HttpExchange) -> LatinHeaders:
    status_line = f"{exchange.status} {exchange.reason}".rstrip()
    return LatinHeaders(status_line, response_headers_for_warc(exchange.response_headers),
                        exchange.protocol)


def build_exchange_records(builder: RecordBuilder, exchange: HttpExchange,
                           original: Original | None = None,
                           not_modified: bool = False) -> tuple[Any, Any | None]:
    """Return (response, request) records, the request WARC-Concurrent-To the response;
    or, with ``original``, (revisit, None): a revisit of an identical payload, or
    (``not_modified``) of a 304 answer to a conditional request, which carries the
    request's validators itself instead of a request record (README: Deduplication)."""
    if original is None:
        http = _http_response(exchange)
        fields = _response_fields(exchange)
        fields.update(_digest_fields(http, exchange.body_chunks(), exchange.payload_digest))
        # A spooled body is the record's payload as a stream: the writer reads it in chunks.
        response = builder.create_warc_record(
            exchange.url, "response", payload=exchange.body_stream(),
            length=exchange.body_length, warc_headers_dict=fields, http_headers=http)
    else:
        return build_revisit(builder, exchange, original, not_modified), None
    return response, _request_record(builder, exchange, response)


def build_revisit(builder: RecordBuilder, exchange: HttpExchange, original: Original,
                  not_modified: bool) -> Any:
    """A revisit record: the HTTP headers as received, no body, pointing at the original."""
    fields = _response_fields(exchange)
    fields.update(sent_validators(exchange.request_headers))
    fields["WARC-Refers-To"] = original.record_id
    # The record holds the headers only: say so, as Heritrix and pywb expect.
    fields["WARC-Truncated"] = "length"
    http = _http_response(exchange)
    http.compute_headers_buffer()
    # Its block is the headers: digested here, or warcio would write its own form.
    fields["WARC-Block-Digest"] = warc_digest(hashlib.sha256(http.headers_buff).digest())
    # The payload digest is the original's, as written there: pywb finds the original
    # by it.
    record = builder.create_revisit_record(
        exchange.url, digest=original.payload_digest, refers_to_uri=original.target_uri,
        refers_to_date=original.date, http_headers=http, warc_headers_dict=fields)
    if not_modified:
        record.rec_headers.replace_header("WARC-Profile", REVISIT_NOT_MODIFIED)
    else:
        record.rec_headers.replace_header("WARC-Profile", REVISIT_IDENTICAL)
    return record


# A revisit has no request record: what gives a 304 its meaning is the validators the
# request sent, kept in the revisit's own header as extension fields, as Heritrix keeps a
# server-not-modified revisit's ETag and Last-Modified (WARC-Etag, WARC-Last-Modified).
# The rest of the request is the crawl's (User-Agent and Accept-* in warcinfo, Referer in
# Vigil-Referrer) or the original's, whose request record stays.
SENT_VALIDATORS = {"if-none-match": "Vigil-If-None-Match",
                   "if-modified-since": "Vigil-If-Modified-Since"}


def sent_validators(request_headers: Sequence[tuple[str, str]]) -> dict[str, str]:
    """The conditional request headers as sent, under their revisit field names."""
    return {SENT_VALIDATORS[name.lower()]: value for name, value in request_headers
            if name.lower() in SENT_VALIDATORS}


def _request_record(builder: RecordBuilder, exchange: HttpExchange, response: Any) -> Any:
    response_id = response.rec_headers.get_header("WARC-Record-ID")
    date = warc_date(exchange.date)

    request_line = f"{exchange.method} {request_target(exchange.url)} {exchange.protocol}"
    http_request = LatinHeaders(request_line, list(exchange.request_headers), "")
    request_fields = {"WARC-Date": date, "WARC-Concurrent-To": response_id}
    if exchange.ip_address:
        request_fields["WARC-IP-Address"] = exchange.ip_address
    body = exchange.request_body
    request_fields.update(_digest_fields(http_request, body, warc_digest(
        hashlib.sha256(body).digest()) if body else _EMPTY_DIGEST))
    return builder.create_warc_record(
        exchange.url,
        "request",
        payload=BytesIO(exchange.request_body),
        length=len(exchange.request_body),
        warc_headers_dict=request_fields,
        http_headers=http_request,
    )
