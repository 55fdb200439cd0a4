"""Memento (RFC 7089): TimeMaps, the TimeGate and mementos framed around pywb's replay.

Lookups are an archive's: ``/web/<4 to 14 digits>/<url>`` (a partial time padded as
``vigil get --at`` pads it) and ``/web/<url>`` (the latest), the URL matched in SURT form
(``CaptureIndex.resolve``); anything but an exact memento redirects to one. Links and
redirects are built from the address the app was started on, never the Host header.
"""

from __future__ import annotations

import itertools
import re
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from html import escape
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from archive.index import Capture, CaptureIndex, CaptureNotFound
from archive.payload import DecodeCapExceeded, is_stored_digest
from archive.reader import RecordNotFound, stream_payload
from archive.timeutil import InvalidDatetime, digits14, iso_seconds, parse_datetime
from archive.urls import InvalidURL, normalize_url, validate_url
from crawler.app.home import Home
from crawler.app.store import Store
from crawler.web.pages import BadRequest, page
from crawler.web.replay import ReplayIndex

_STAMP = re.compile(r"^(\d{4,14})(id_)?$")
_DIGITS = re.compile(r"^\d+(id_)?$")
_COLLAPSED = re.compile(r"^(https?):/(?!/)")
_FRAME_SANDBOX = "allow-scripts allow-same-origin allow-forms allow-popups"


def _undecoded(holder: Capture) -> Response:
    # A payload that decodes past the decode cap (a bomb, or a body too large to decode)
    # is kept as received; it is given with `vigil export`, never decoded here.
    return PlainTextResponse(
        f"The payload of {holder.url} decodes to more than the decode cap: the archive keeps "
        "it as it was received (vigil export gives the record), and does not decode it.",
        status_code=422)


def http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


def quoted(url: str) -> str:
    """An archived URL as the tail of one of our paths (kept readable, as archives do)."""
    return quote(url, safe=":/?&=%#;,+@!$~*'()")


def _raw_tail(request: Request, prefix_len: int) -> str:
    """The request's path after the first ``prefix_len`` segments, undecoded."""
    raw: str = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
    cut = -1
    for _ in range(prefix_len):
        cut = raw.find("/", cut + 1)
        if cut == -1:
            raise BadRequest("no URL in the path")
    return raw[cut + 1:]


def _as_url(tail: str, request: Request) -> str:
    # Some proxies collapse the "//" of an embedded URL.
    target = _COLLAPSED.sub(r"\1://", tail)
    if request.url.query:
        target += "?" + request.url.query
    try:
        return validate_url(target)
    except InvalidURL as exc:
        raise BadRequest(str(exc)) from exc


def target_url(request: Request, prefix_len: int) -> str:
    """The archived URL after the first ``prefix_len`` path segments (it has slashes of its
    own, ``//`` included), with its own query string."""
    return _as_url(_raw_tail(request, prefix_len), request)


class Memento:
    """RFC 7089 over the capture index: TimeMaps, the TimeGate and mementos."""

    def __init__(self, home: Home, base: str, replay_origin: str | None,
                 replay_index: ReplayIndex | None = None) -> None:
        self.home = home
        self.base = base.rstrip("/")
        self.replay_origin = replay_origin
        self.replay_index = replay_index
        self.routes = [
            Route("/timemap/link/{url:path}", self.timemap_link),
            Route("/timemap/json/{url:path}", self.timemap_json),
            Route("/timegate/{url:path}", self.timegate),
            Route("/web/{rest:path}", self.memento),
        ]

    def _index(self) -> tuple[Store, CaptureIndex]:
        store = Store.open(self.home.db_path)
        return store, store.captures

    def captures(self, url: str) -> list[Capture]:
        """Every capture of ``url`` as matched (exact URL first, then its SURT form)."""
        store, index = self._index()
        try:
            found = index.history(url)
            if not found:
                index.closest(url, any_status=True)  # raises, naming URLs near it
        finally:
            store.close()
        return found

    def _urls(self, url: str) -> dict[str, str]:
        base = self.base
        return {"original": url, "timegate": f"{base}/timegate/{url}",
                "link": f"{base}/timemap/link/{url}", "json": f"{base}/timemap/json/{url}",
                "web": f"{base}/web/"}

    async def timemap_link(self, request: Request) -> Response:
        captures = self.captures(target_url(request, 3))
        url = captures[0].url
        urls = self._urls(url)
        first, last = captures[0].moment, captures[-1].moment
        lines = [f'<{urls["original"]}>; rel="original"',
                 f'<{urls["timegate"]}>; rel="timegate"',
                 f'<{urls["link"]}>; rel="self"; type="application/link-format"; '
                 f'from="{http_date(first)}"; until="{http_date(last)}"']
        for n, capture in enumerate(captures):
            rel = "memento"
            if n == 0:
                rel = "first memento"
            if n == len(captures) - 1:
                rel = "last memento" if n else "first last memento"
            lines.append(f'<{urls["web"]}{digits14(capture.moment)}/{url}>; rel="{rel}"; '
                         f'datetime="{http_date(capture.moment)}"')
        return Response(",\n".join(lines) + "\n", media_type="application/link-format")

    async def timemap_json(self, request: Request) -> Response:
        captures = self.captures(target_url(request, 3))
        url = captures[0].url
        urls = self._urls(url)
        listed = [{"datetime": iso_seconds(c.moment), "uri": f"{urls['web']}"
                   f"{digits14(c.moment)}/{url}", "status": c.status,
                   "payload_status": c.payload_status, "revisit": c.revisit,
                   "digest": c.digest} for c in captures]
        return JSONResponse({"original_uri": url, "timegate_uri": urls["timegate"],
                             "timemap_uri": {"link_format": urls["link"],
                                             "json_format": urls["json"]},
                             "mementos": {"first": listed[0], "last": listed[-1],
                                          "list": listed}})

    async def timegate(self, request: Request) -> Response:
        asked = target_url(request, 2)
        header = request.headers.get("accept-datetime")
        at = None
        if header:
            try:
                at = parsedate_to_datetime(header)
            except (TypeError, ValueError) as exc:
                raise BadRequest(f"malformed Accept-Datetime: {header!r}") from exc
            if at is None or at.tzinfo is None:
                raise BadRequest(f"Accept-Datetime must be an HTTP date in GMT: {header!r}")
        # An HTTP date names a whole second, as a 14-digit memento time does.
        capture = self.closest(asked, at, whole_second=True)
        url = capture.url
        urls = self._urls(url)
        return RedirectResponse(f"/web/{digits14(capture.moment)}/{quoted(url)}", 302,
                                headers={
            "Vary": "accept-datetime",
            "Link": f'<{url}>; rel="original", <{urls["link"]}>; rel="timemap"; '
                    'type="application/link-format"'})

    def closest(self, url: str, at: datetime | None, *, whole_second: bool = False) -> Capture:
        """The capture of ``url`` nearest ``at`` (the latest without), whatever its status:
        a memento of a redirect or an error is a memento too. With ``whole_second`` (a
        14-digit time), a capture made in that second comes first."""
        store, index = self._index()
        try:
            found = index.in_second(url, at, any_status=True) \
                if whole_second and at is not None else None
            return found or index.closest(url, at, any_status=True)
        finally:
            store.close()

    async def memento(self, request: Request) -> Response:
        tail = _raw_tail(request, 2)
        stamp, _, rest = tail.partition("/")
        match = _STAMP.match(stamp)
        if match is None and _DIGITS.match(stamp):
            raise BadRequest("a memento's time is 4 to 14 digits (YYYYMMDDhhmmss, as many "
                             "as you know): /web/<digits>/<url>")
        if match is None:  # /web/<url>: the latest memento
            asked, at, raw = _as_url(tail, request), None, ""
        else:
            asked, raw = _as_url(rest, request), match.group(2) or ""
            try:
                at = parse_datetime(match.group(1))
            except InvalidDatetime as exc:
                raise BadRequest(str(exc)) from exc
        capture = self.closest(asked, at, whole_second=match is not None and
                               len(match.group(1)) == 14)
        found = digits14(capture.moment)
        url = capture.url
        if match is None or found != match.group(1) or url != normalize_url(asked):
            # Not an exact memento: go to the nearest one, under the URL it was captured as.
            return RedirectResponse(f"/web/{found}{raw}/{quoted(url)}", 302)
        urls = self._urls(url)
        headers = {
            "Memento-Datetime": http_date(capture.moment),
            "Link": f'<{url}>; rel="original", <{urls["timegate"]}>; rel="timegate", '
                    f'<{urls["link"]}>; rel="timemap"; type="application/link-format"',
        }
        if raw:
            return await self._payload(capture, headers)
        if self.replay_index is not None:
            await run_in_threadpool(self.replay_index.refresh)
        return self._frame(capture, url, headers)

    async def _payload(self, capture: Capture, headers: dict[str, str]) -> Response:
        """The payload, decoded, streamed from its file on a worker thread: a 100 MB
        record is never held whole, and other requests are answered meanwhile."""
        store, index = self._index()
        try:
            holder = index.original(capture)
        finally:
            store.close()
        if holder.revisit:
            raise CaptureNotFound(f"the capture of {iso_seconds(capture.moment)} revisits a "
                                  "record that is not in this archive")
        if is_stored_digest(holder.digest):
            return _undecoded(holder)
        chunks = stream_payload(self.home.warc_dir, holder.warc, holder.offset)
        try:
            first = await run_in_threadpool(next, chunks, b"")
        except RecordNotFound as exc:
            raise CaptureNotFound(str(exc)) from exc
        except DecodeCapExceeded:
            return _undecoded(holder)
        headers["Content-Security-Policy"] = "sandbox"  # never runs as the app's page
        return StreamingResponse(itertools.chain((first,), chunks), status_code=200,
                                 headers=headers,
                                 media_type=holder.content_type or "application/octet-stream")

    def _frame(self, capture: Capture, url: str, headers: dict[str, str]) -> Response:
        when = iso_seconds(capture.moment)
        stamp = digits14(capture.moment)
        status = f"HTTP {capture.status}"
        if capture.revisit:
            status += (", not modified: the content of an earlier capture"
                       if capture.status == 304 else ", the same payload as before")
        banner = (f"<header><b>Archived</b> {escape(url)} as captured {when} "
                  f"({escape(status)}, {escape(capture.digest[:23])}…) · "
                  f"<a href='/captures/{escape(quoted(url))}'>all captures</a> · "
                  f"<a href='/web/{stamp}id_/{escape(quoted(url))}'>raw</a></header>")
        if self.replay_origin is None:
            body = banner + "<p>Replay needs pywb: run <code>make install</code>.</p>"
            return HTMLResponse(page(f"Archived {url}", body), headers=headers)
        src = f"{self.replay_origin}/web/{stamp}/{quoted(url)}"
        frame = (f"<iframe src='{escape(src)}' sandbox='{_FRAME_SANDBOX}' "
                 "referrerpolicy='no-referrer'></iframe>")
        headers["Content-Security-Policy"] = (
            f"default-src 'none'; style-src 'unsafe-inline'; frame-src {self.replay_origin}; "
            # The desk's review page frames mementos side by side; no other site may.
            "base-uri 'none'; form-action 'none'; frame-ancestors 'self'")
        return HTMLResponse(page(f"Archived {url}", banner + frame, framed=True),
                            headers=headers)
