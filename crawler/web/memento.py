"""Memento (RFC 7089): TimeMaps, the TimeGate and mementos framed around pywb's replay."""

from __future__ import annotations

import re
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from html import escape
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from archive.index import Capture, CaptureIndex, CaptureNotFound
from archive.reader import RecordNotFound, read_record
from archive.timeutil import digits14, iso_seconds
from archive.urls import InvalidURL, validate_url
from crawler.app.home import Home
from crawler.app.store import Store
from crawler.web.pages import BadRequest, page

_TS = re.compile(r"^(\d{14})(id_)?$")


def http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


_COLLAPSED = re.compile(r"^(https?):/(?!/)")


def _target(request: Request, prefix_len: int) -> str:
    """The archived URL after the first ``prefix_len`` path segments (it has slashes of its
    own, ``//`` included), with its own query string."""
    raw = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
    cut = -1
    for _ in range(prefix_len):
        cut = raw.find("/", cut + 1)
        if cut == -1:
            raise BadRequest("no URL in the path")
    # Some proxies collapse the "//" of an embedded URL.
    target = _COLLAPSED.sub(r"\1://", raw[cut + 1:])
    if request.url.query:
        target += "?" + request.url.query
    try:
        return validate_url(target)
    except InvalidURL as exc:
        raise BadRequest(str(exc)) from exc


class Memento:
    """RFC 7089 over the capture index: TimeMaps, the TimeGate and mementos."""

    def __init__(self, home: Home, replay_port: int | None) -> None:
        self.home = home
        self.replay_port = replay_port
        self.routes = [
            Route("/", self.index),
            Route("/timemap/link/{url:path}", self.timemap_link),
            Route("/timemap/json/{url:path}", self.timemap_json),
            Route("/timegate/{url:path}", self.timegate),
            Route("/web/{stamp}/{url:path}", self.memento),
        ]

    def _index(self) -> tuple[Store, CaptureIndex]:
        store = Store.open(self.home.db_path)
        return store, store.captures

    def _captures(self, url: str) -> list[Capture]:
        store, index = self._index()
        try:
            found = index.history(url)
        finally:
            store.close()
        if not found:
            raise CaptureNotFound(f"{url} is not in this archive")
        return found

    # -- pages -----------------------------------------------------------------------
    async def index(self, request: Request) -> Response:
        store = Store.open(self.home.db_path)
        try:
            rows = [(s.url, s.name) for s in store.sources()]
        finally:
            store.close()
        items = "".join(f"<li><a href='/timemap/json/{escape(u)}'>{escape(u)}</a> "
                        f"({escape(n)})</li>" for u, n in rows)
        return HTMLResponse(page("vigil archive", f"<ul>{items}</ul>"))

    def _urls(self, request: Request, url: str) -> dict[str, str]:
        base = str(request.base_url).rstrip("/")
        return {"original": url, "timegate": f"{base}/timegate/{url}",
                "link": f"{base}/timemap/link/{url}", "json": f"{base}/timemap/json/{url}",
                "web": f"{base}/web/"}

    async def timemap_link(self, request: Request) -> Response:
        url = _target(request, 3)
        captures = self._captures(url)
        urls = self._urls(request, url)
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
        url = _target(request, 3)
        captures = self._captures(url)
        urls = self._urls(request, url)
        listed = [{"datetime": iso_seconds(c.moment), "uri": f"{urls['web']}"
                   f"{digits14(c.moment)}/{url}", "status": c.status, "revisit": c.revisit,
                   "digest": c.digest} for c in captures]
        return JSONResponse({"original_uri": url, "timegate_uri": urls["timegate"],
                             "timemap_uri": {"link_format": urls["link"],
                                             "json_format": urls["json"]},
                             "mementos": {"first": listed[0], "last": listed[-1],
                                          "list": listed}})

    async def timegate(self, request: Request) -> Response:
        url = _target(request, 2)
        header = request.headers.get("accept-datetime")
        at = None
        if header:
            try:
                at = parsedate_to_datetime(header)
            except (TypeError, ValueError) as exc:
                raise BadRequest(f"malformed Accept-Datetime: {header!r}") from exc
            if at is None or at.tzinfo is None:
                raise BadRequest(f"Accept-Datetime must be an HTTP date in GMT: {header!r}")
        capture = self._closest(url, at)
        urls = self._urls(request, url)
        return RedirectResponse(f"{urls['web']}{digits14(capture.moment)}/{url}", 302, headers={
            "Vary": "accept-datetime",
            "Link": f'<{url}>; rel="original", <{urls["link"]}>; rel="timemap"; '
                    'type="application/link-format"'})

    def _closest(self, url: str, at: datetime | None) -> Capture:
        self._captures(url)  # 404 for a URL never captured
        store, index = self._index()
        try:
            return index.closest(url, at, any_status=True)
        finally:
            store.close()

    async def memento(self, request: Request) -> Response:
        match = _TS.match(request.path_params["stamp"])
        if not match:
            raise BadRequest("a memento is /web/<14 digits>/<url> or /web/<14 digits>id_/<url>")
        url = _target(request, 3)
        try:
            at = datetime.strptime(match.group(1) + "+0000", "%Y%m%d%H%M%S%z")
        except ValueError as exc:
            raise BadRequest(f"not a datetime: {match.group(1)}") from exc
        capture = self._closest(url, at)
        stamp = digits14(capture.moment)
        urls = self._urls(request, url)
        if stamp != match.group(1):  # not an exact memento: go to the nearest one
            return RedirectResponse(f"{urls['web']}{stamp}{match.group(2) or ''}/{url}", 302)
        headers = {
            "Memento-Datetime": http_date(capture.moment),
            "Link": f'<{url}>; rel="original", <{urls["timegate"]}>; rel="timegate", '
                    f'<{urls["link"]}>; rel="timemap"; type="application/link-format"',
        }
        if match.group(2):
            return self._payload(capture, headers)
        return self._frame(request, capture, url, headers)

    def _payload(self, capture: Capture, headers: dict[str, str]) -> Response:
        store, index = self._index()
        try:
            holder = index.original(capture)
        finally:
            store.close()
        try:
            body = read_record(self.home.warc_dir, holder.warc, holder.offset).payload()
        except RecordNotFound as exc:
            raise CaptureNotFound(str(exc)) from exc
        headers["Content-Security-Policy"] = "sandbox"  # never runs as the app's page
        return Response(body, status_code=200, headers=headers,
                        media_type=holder.content_type or "application/octet-stream")

    def _frame(self, request: Request, capture: Capture, url: str,
               headers: dict[str, str]) -> Response:
        when = iso_seconds(capture.moment)
        banner = (f"<header><b>Archived</b> {escape(url)} as captured {when} "
                  f"(HTTP {capture.status}, {escape(capture.digest[:23])}…) · "
                  f"<a href='/timemap/json/{quote(url, safe=':/?&=')}'>all captures</a> · "
                  f"<a href='/web/{digits14(capture.moment)}id_/{escape(url)}'>raw</a></header>")
        if self.replay_port is None:
            body = banner + "<p>Replay needs pywb: run <code>make install</code>.</p>"
            return HTMLResponse(page(f"Archived {url}", body), headers=headers)
        origin = f"{request.url.scheme}://{request.url.hostname}:{self.replay_port}"
        src = f"{origin}/web/{digits14(capture.moment)}/{url}"
        frame = (f"<iframe src='{escape(src)}' sandbox='allow-scripts allow-same-origin "
                 "allow-forms allow-popups' referrerpolicy='no-referrer'></iframe>")
        headers["Content-Security-Policy"] = (
            f"default-src 'none'; style-src 'unsafe-inline'; frame-src {origin}")
        return HTMLResponse(page(f"Archived {url}", banner + frame, framed=True),
                            headers=headers)
