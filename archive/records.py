"""Build WARC request/response records from one HTTP exchange, as it came off the wire."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from typing import Any
from urllib.parse import urlsplit

from warcio.recordbuilder import RecordBuilder
from warcio.statusandheaders import StatusAndHeaders

from archive.timeutil import warc_date

# Headers a reader would apply again to a body we store decoded of them.
# Twisted already moves Transfer-Encoding out of the response headers when it
# de-chunks; this is the safety net for any other HTTP client feeding us.
_HOP_BY_HOP_RENAMED = {"transfer-encoding": "X-Vigil-Orig-Transfer-Encoding"}


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


def build_exchange_records(builder: RecordBuilder, exchange: HttpExchange) -> tuple[Any, Any]:
    """Return (response, request) records; the request is WARC-Concurrent-To the response."""
    date = warc_date(exchange.date)
    response_fields = {"WARC-Date": date}
    if exchange.ip_address:
        response_fields["WARC-IP-Address"] = exchange.ip_address
    if exchange.truncated:
        response_fields["WARC-Truncated"] = exchange.truncated
    status_line = f"{exchange.status} {exchange.reason}".rstrip()
    http_response = LatinHeaders(
        status_line, response_headers_for_warc(exchange.response_headers), exchange.protocol
    )
    response = builder.create_warc_record(
        exchange.url,
        "response",
        payload=BytesIO(exchange.body),
        length=len(exchange.body),
        warc_headers_dict=response_fields,
        http_headers=http_response,
    )
    response_id = response.rec_headers.get_header("WARC-Record-ID")

    request_line = f"{exchange.method} {request_target(exchange.url)} {exchange.protocol}"
    http_request = LatinHeaders(request_line, list(exchange.request_headers), "")
    request_fields = {"WARC-Date": date, "WARC-Concurrent-To": response_id}
    if exchange.ip_address:
        request_fields["WARC-IP-Address"] = exchange.ip_address
    request = builder.create_warc_record(
        exchange.url,
        "request",
        payload=BytesIO(exchange.request_body),
        length=len(exchange.request_body),
        warc_headers_dict=request_fields,
        http_headers=http_request,
    )
    return response, request
