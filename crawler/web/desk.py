"""The editors' desk: changes, review pages, sources, timelines and the feed, in the browser."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from archive.index import CaptureNotFound
from archive.reader import read_record
from archive.resources import SCREENSHOT_PREFIX, screenshot_uri
from archive.timeutil import InvalidDatetime, parse_datetime
from archive.urls import InvalidURL, validate_url
from crawler.app.after_crawl import feed_of
from crawler.app.home import Home
from crawler.app.store import Store
from crawler.web.desk_auth import Auth, Refused, Visit
from crawler.web.desk_history import signin_form, source_states, sources_page, timeline_page
from crawler.web.desk_layout import CSP, shell
from crawler.web.desk_pages import changes_page, review_page
from crawler.web.desk_style import CSS
from crawler.web.memento import target_url
from monitor import reviews
from monitor.alerts import deliveries_of
from monitor.change_view import ChangeReader
from monitor.changes import (
    ChangeFilter,
    UnknownFilter,
    changes_json,
    event_by_id,
    select_events,
)
from monitor.events import EventLog
from monitor.reviews import InvalidReview, Reviews

FILTERS = ("kind", "source", "url", "since")
TIMELINE_PREFIX = "/web/*/"
LIST_LIMIT = 500
TITLES_READ = 50  # headlines read from the WARCs per request; the rest wait for the cache
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "same-origin"}


class BadFilter(ValueError):
    """A filter of /changes or /api/changes that cannot be read: 400."""


def _filter(request: Request) -> tuple[ChangeFilter, dict[str, str]]:
    asked = {k: request.query_params.get(k, "").strip() for k in FILTERS}
    since = None
    if asked["since"]:
        try:
            since = parse_datetime(asked["since"])
        except InvalidDatetime as exc:
            raise BadFilter(f"since: {exc}") from exc
    if asked["url"]:
        try:
            validate_url(asked["url"])
        except InvalidURL as exc:
            raise BadFilter(f"url: {exc}") from exc
    wanted = ChangeFilter(since=since, kind=asked["kind"] or None, url=asked["url"] or None,
                          source=asked["source"] or None)
    try:
        wanted.check()
    except UnknownFilter as exc:
        raise BadFilter(str(exc)) from exc
    return wanted, asked


def _page_url(request: Request) -> str:
    """The URL of /web/*/<url>, undecoded as the client sent it (its "//" and query too)."""
    return target_url(request, TIMELINE_PREFIX.count("/"))


def _local(path: str) -> str:
    """Where to go after signing in: a path of this app, never another site."""
    return path if path.startswith("/") and not path.startswith(("//", "/\\")) else "/changes"


class Desk:
    def __init__(self, home: Home, auth: Auth | None = None, base: str | None = None) -> None:
        self.home = home
        self.base = base.rstrip("/") if base else None  # links in the feed; else the request's
        self.auth = auth or Auth.from_environment()
        store = self._store()
        store.close()

    def _store(self) -> Store:
        store = Store.open(self.home.db_path)
        reviews.create_schema(store.db)
        return store

    def _with_store(self, work: Callable[[Store], Any]) -> Any:
        store = self._store()
        try:
            return work(store)
        finally:
            store.close()

    @property
    def routes(self) -> list[BaseRoute]:
        # /web/*/ first: the memento route would read "*" as a malformed datetime.
        return [
            Route(TIMELINE_PREFIX + "{url:path}", self.timeline),
            Route("/changes", self.changes),
            Route("/changes/{event_id:int}", self.review),
            Route("/changes/{event_id:int}/review", self.mark_reviewed, methods=["POST"]),
            Route("/api/changes", self.api_changes),
            Route("/feed.atom", self.feed),
            Route("/sources", self.sources),
            Route("/sources", self.add_source, methods=["POST"]),
            Route("/signin", self.signin),
            Route("/signin", self.signin_post, methods=["POST"]),
            Route("/signout", self.signout, methods=["POST"]),
            Route("/desk.css", self.stylesheet),
            Route("/screenshots/{capture_id:int}.png", self.screenshot),
        ]

    # -- responses -------------------------------------------------------------------
    def _page(self, request: Request, title: str, body: str, current: str = "",
              status: int = 200, visit: Visit | None = None) -> Response:
        visit = visit or self.auth.visit(request)
        response = HTMLResponse(shell(title, body, visit, current), status, headers=HEADERS)
        self.auth.set_cookies(request, response, visit)
        return response

    def _refused(self, request: Request, why: str) -> Response:
        return self._page(request, "Not allowed", f"<h1>Not allowed</h1><p class='error'>"
                          f"{_escape(why)}</p><p><a href='/changes'>Changes</a></p>", status=403)

    def _bad(self, request: Request, why: str, status: int = 400) -> Response:
        title = "Not found" if status == 404 else "Bad request"
        return self._page(request, title, f"<h1>{title}</h1><p class='error'>"
                          f"{_escape(why)}</p><p><a href='/changes'>Changes</a></p>",
                          status=status)

    @staticmethod
    def _back(path: str) -> Response:
        return RedirectResponse(path, 303, headers=HEADERS)

    # -- reading ---------------------------------------------------------------------
    def stylesheet(self, request: Request) -> Response:
        return Response(CSS, media_type="text/css", headers={
            **HEADERS, "Cache-Control": "max-age=300"})

    def changes(self, request: Request) -> Response:
        try:
            wanted, asked = _filter(request)
        except BadFilter as exc:
            return self._page(request, "Changes", changes_page([], {}, set(), {}, {}, str(exc)),
                              "/changes", status=400)

        def read(store: Store) -> str:
            names = {s.id: s.name for s in store.sources()}
            try:
                events = select_events(store.db, wanted, newest_first=True, limit=LIST_LIMIT)
            except UnknownFilter as exc:
                return changes_page([], {}, set(), names, asked, str(exc))
            headlines = ChangeReader(store.db, self.home.warc_dir).titles(events, TITLES_READ)
            return changes_page(events, headlines, Reviews(store.db).reviewed(), names, asked,
                                None)
        return self._page(request, "Changes", self._with_store(read), "/changes")

    def api_changes(self, request: Request) -> Response:
        try:
            wanted, _asked = _filter(request)
            data = self._with_store(lambda store: changes_json(store.db, wanted))
        except (BadFilter, UnknownFilter) as exc:
            return JSONResponse({"error": str(exc)}, 400, headers=HEADERS)
        return JSONResponse(data, headers=HEADERS)

    def review(self, request: Request) -> Response:
        event_id = int(request.path_params["event_id"])
        visit = self.auth.visit(request)

        def read(store: Store) -> str | None:
            event = event_by_id(store.db, event_id)
            if event is None:
                return None
            view = ChangeReader(store.db, self.home.warc_dir).view(event)
            return review_page(view, Reviews(store.db).get(event_id),
                               deliveries_of(store.db, event_id), visit,
                               request.query_params.get("done"),
                               _screenshots(store, event.url))
        body = self._with_store(read)
        if body is None:
            return self._bad(request, f"no change #{event_id}", status=404)
        return self._page(request, f"Change #{event_id}", body, visit=visit)

    def screenshot(self, request: Request) -> Response:
        """A rendered page's screenshot, as archived (only screenshot records are served)."""
        capture_id = int(request.path_params["capture_id"])

        def read(store: Store) -> bytes | None:
            capture = store.captures.get(capture_id)
            if capture is None or not capture.url.startswith(SCREENSHOT_PREFIX):
                return None
            return read_record(self.home.warc_dir, capture.warc, capture.offset).body
        body = self._with_store(read)
        if body is None:
            return self._bad(request, f"no screenshot #{capture_id}", status=404)
        return Response(body, media_type="image/png", headers=HEADERS)

    def feed(self, request: Request) -> Response:
        server = self.base or str(request.base_url).rstrip("/")
        document = self._with_store(lambda store: feed_of(self.home, store, server))
        return Response(document, media_type="application/atom+xml", headers=HEADERS)

    def sources(self, request: Request) -> Response:
        visit = self.auth.visit(request)
        states = self._with_store(lambda store: source_states(store, Reviews(store.db)
                                                              .reviewed()))
        added = request.query_params.get("added")
        return self._page(request, "Sources", sources_page(
            states, visit, f"Added {added}: it is captured at its next scheduled time."
            if added else None, None), "/sources", visit=visit)

    def timeline(self, request: Request) -> Response:
        url = _page_url(request)

        def read(store: Store) -> str | None:
            captures = store.captures.history(url)
            failures = store.failures(url)
            if not captures and not failures:
                return None
            events = EventLog(store.db).query(url=url)
            reader = ChangeReader(store.db, self.home.warc_dir)
            good = [c for c in captures if 200 <= (c.payload_status or c.status) < 300]
            found = reader.extract(good[-1], _options(store, good[-1].source_id)) \
                if good else None
            return timeline_page(url, (found.title if found else "") or url, captures,
                                 failures, events)
        body = self._with_store(read)
        if body is None:
            raise CaptureNotFound(f"{url} is not in this archive")
        return self._page(request, f"History of {url}", body)

    # -- writing ---------------------------------------------------------------------
    async def signin(self, request: Request) -> Response:
        visit = self.auth.visit(request)
        after = _local(request.query_params.get("next", "/changes"))
        if not visit.writable:
            body = ("<h1>Sign in</h1><p class='notice'>Writing from the browser is off. Start "
                    "<code>vigil serve</code> with <code>VIGIL_SERVE_TOKEN</code> set to sign "
                    "in with that token.</p>")
        elif visit.signed_in:
            body = f"<h1>Sign in</h1><p class='flash'>You are signed in. <a href='" \
                   f"{_escape(after)}'>Continue</a></p>"
        else:
            body = "<h1>Sign in</h1>" + signin_form(visit, after)
        return self._page(request, "Sign in", body, visit=visit)

    async def signin_post(self, request: Request) -> Response:
        try:
            fields = await self.auth.form(request, session=False)
        except Refused as exc:
            return self._refused(request, str(exc))
        if not self.auth.check_token(fields.get("token", "")):
            visit = self.auth.visit(request)
            return self._page(request, "Sign in", "<h1>Sign in</h1>" + signin_form(
                visit, _local(fields.get("next", "/changes")), problem="That is not the "
                "token vigil serve was started with."), status=403, visit=visit)
        response = self._back(_local(fields.get("next", "/changes")))
        self.auth.sign_in(request, response)
        return response

    async def signout(self, request: Request) -> Response:
        try:
            await self.auth.form(request)
        except Refused as exc:
            return self._refused(request, str(exc))
        response = self._back("/changes")
        self.auth.sign_out(response)
        return response

    async def add_source(self, request: Request) -> Response:
        try:
            fields = await self.auth.form(request)
            url = validate_url(fields.get("url", "").strip())
        except Refused as exc:
            return self._refused(request, str(exc))
        except InvalidURL as exc:
            return self._bad(request, str(exc))
        name = fields.get("name", "").strip() or None

        def add(store: Store) -> str:
            with store.db.conn:
                return store.upsert_source(url, name=name, depth=None, ignore_robots=None).url
        added = await run_in_threadpool(self._with_store, add)
        return self._back(f"/sources?added={quote(added, safe='')}")

    async def mark_reviewed(self, request: Request) -> Response:
        event_id = int(request.path_params["event_id"])
        try:
            fields = await self.auth.form(request)
        except Refused as exc:
            return self._refused(request, str(exc))

        def mark(store: Store) -> None:
            Reviews(store.db).mark(event_id, fields.get("note", "").strip() or None,
                                   fields.get("significance", "").strip() or None)
        try:
            await run_in_threadpool(self._with_store, mark)
        except InvalidReview as exc:
            return self._bad(request, str(exc))
        return self._back(f"/changes/{event_id}?done=Marked+reviewed")


def _options(store: Store, source_id: int | None) -> Any:
    from monitor.detect import source_options
    from monitor.extract import ExtractOptions

    row = store.db.table("sources").get(source_id) if source_id else None
    return source_options(row) if row else ExtractOptions()


def _escape(text: str) -> str:
    from html import escape

    return escape(text)


def desk_routes(home: Home, base: str | None = None) -> list[BaseRoute]:
    """The desk's routes, to put before the Memento routes in the app."""
    return Desk(home, base=base).routes


def _screenshots(store: Store, url: str) -> dict[int, int]:
    """The page's screenshot captures (when it was rendered), by the crawl that took them."""
    try:
        wanted = screenshot_uri(store.captures.resolve(url))
    except CaptureNotFound:
        return {}
    return {c.crawl_id: c.id for c in store.captures.history(wanted)
            if c.crawl_id is not None and c.id is not None}
