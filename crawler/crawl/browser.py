"""One Chromium per crawl process: renders pages; every request it makes goes through Scrapy."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.settings import BaseSettings
from twisted.python.failure import Failure

from archive.found_by import FoundBy
from archive.resources import RENDER_FAILURE_PREFIX, dom_uri, screenshot_uri
from archive.urls import normalize_url, site_key
from crawler.crawl.chromium import launch_args
from spiders import meta as keys
from spiders.rendering import RENDERING, BrowserMode, Rendered, RenderFailed, resource_captured
from spiders.signals import fetch_failed

log = logging.getLogger(__name__)

# Request headers Chromium sets that the crawl sets its own way: its User-Agent and
# Accept-Encoding (Chromium offers zstd and br, which the archive's readers cannot all
# read), and what the HTTP client adds.
_DROPPED_REQUEST = frozenset({"user-agent", "accept-encoding", "host", "connection",
                              "content-length"})
# Response headers that describe the body on the wire: the browser gets it decoded.
_DROPPED_RESPONSE = frozenset({"content-encoding", "content-length", "transfer-encoding"})
# WebRTC is the one way a page's script reaches the network neither through page.route
# nor the (dead) proxy: ICE gathering sends STUN over UDP to any address the page names
# and tells the page the machine's own addresses. Only proxied transport is allowed, so it
# reaches nothing. (The value is read from --webrtc-ip-handling-policy; Debian's Chromium
# ignores --force-webrtc-ip-handling-policy=<value> alone, which only makes the policy
# override the profile's: tests/test_webrtc.py watches for the packets.)
WEBRTC_ARGS = ("--force-webrtc-ip-handling-policy",
               "--webrtc-ip-handling-policy=disable_non_proxied_udp")


def chromium_args(max_memory_mb: int) -> list[str]:
    """Every argument the crawl's Chromium is started with."""
    return [*launch_args(max_memory_mb), *WEBRTC_ARGS]


# Scrolling down one screen at a time, until the bottom or ``max_scrolls`` screens.
_SCROLL = """async (max) => {
  for (let i = 0; i < max; i++) {
    const before = window.scrollY;
    window.scrollBy(0, window.innerHeight);
    await new Promise(r => requestAnimationFrame(() => setTimeout(r, 100)));
    if (window.scrollY === before) break;
  }
  window.scrollTo(0, 0);
}"""
# Seconds the DOM and the screenshot may take, after the page's own time.
CAPTURE_SECONDS = 15
# Full-page screenshots taller than this are cut (Chromium draws nothing past ~16k px).
MAX_SCREENSHOT_HEIGHT = 16_000


@dataclass(frozen=True)
class BrowserSettings:
    """The BROWSER_* settings, parsed once."""

    executable: str
    page_seconds: float
    settle_seconds: float
    max_memory_mb: int
    max_tabs: int
    max_scrolls: int
    user_agent: str
    home: Path | None

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> BrowserSettings:
        home = settings.get("VIGIL_HOME")
        return cls(
            executable=settings.get("BROWSER_EXECUTABLE") or "/usr/bin/chromium",
            page_seconds=settings.getfloat("BROWSER_PAGE_SECONDS", 60.0),
            settle_seconds=settings.getfloat("BROWSER_SETTLE_SECONDS", 8.0),
            max_memory_mb=settings.getint("BROWSER_MAX_MEMORY_MB", 512),
            max_tabs=max(1, settings.getint("BROWSER_MAX_TABS", 2)),
            max_scrolls=settings.getint("BROWSER_MAX_SCROLLS", 20),
            user_agent=settings.get("USER_AGENT") or "",
            home=Path(home) if home else None,
        )


class Browser:
    """Renders pages for the spider (spiders.rendering.Renderer). Chromium starts at the
    first page to render and stops with the crawl; it reaches the network only through
    ``page.route``, which fetches with Scrapy's downloader, so the archiver writes each
    response as it came off the wire and the browser is given the decoded body."""

    def __init__(self, crawler: Crawler, config: BrowserSettings) -> None:
        self.crawler = crawler
        self.config = config
        self._modes = _source_modes(config.home)
        self._tabs = asyncio.Semaphore(config.max_tabs)
        self._start = asyncio.Lock()
        self._playwright: Any = None
        self._browser: Any = None
        self._closing: set[asyncio.Future[None]] = set()  # popups and dialogs being closed

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Browser:
        browser = cls(crawler, BrowserSettings.from_settings(crawler.settings))
        crawler.signals.connect(browser.close, signal=signals.spider_closed)
        return browser

    def mode(self, source_id: int | None) -> str:
        return self._modes.get(source_id, BrowserMode.AUTO) if source_id is not None \
            else BrowserMode.AUTO

    # -- the browser's life ------------------------------------------------------------
    async def _started(self) -> Any:
        async with self._start:
            if self._browser is None or not self._browser.is_connected():
                from playwright.async_api import async_playwright

                if self._playwright is None:
                    self._playwright = await async_playwright().start()
                self._browser = await self._playwright.chromium.launch(
                    executable_path=self.config.executable,
                    args=chromium_args(self.config.max_memory_mb),
                    handle_sigint=False, handle_sigterm=False, handle_sighup=False)
                self._stat("browser/launched")
            return self._browser

    async def close(self) -> None:
        """Stop Chromium and Playwright's driver with the crawl."""
        browser, self._browser = self._browser, None
        if browser is not None:
            try:
                await asyncio.wait_for(browser.close(), 10)
            except Exception as exc:  # noqa: BLE001 -- closing: nothing more to save
                log.warning("closing the browser: %s", exc)
        playwright, self._playwright = self._playwright, None
        if playwright is not None:
            try:
                await asyncio.wait_for(playwright.stop(), 10)
            except Exception as exc:  # noqa: BLE001 -- closing: nothing more to save
                log.warning("stopping Playwright: %s", exc)

    # -- one page ----------------------------------------------------------------------
    async def render(self, response: Response) -> Rendered:
        """Load the page as a reader's browser would, archive its screenshot and rendered
        DOM beside its response, and return them. RenderFailed when the page hangs,
        crashes or opens popups; a failure row says so, under ``urn:render:<url>``."""
        async with self._tabs:
            self._stat("browser/pages")
            try:
                rendered = await self._render(response)
            except RenderFailed as exc:
                self._failed(response, exc)
                raise
        self._archive(response, rendered)
        return rendered

    async def _render(self, response: Response) -> Rendered:
        from playwright.async_api import Error as PlaywrightError

        try:
            browser = await self._started()
        except PlaywrightError as exc:  # no Chromium there, or it cannot start
            raise RenderFailed("no-browser", str(exc).splitlines()[0]) from exc
        context = await browser.new_context(
            user_agent=self.config.user_agent or None, viewport={"width": 1280, "height": 900},
            service_workers="block", accept_downloads=False)
        problems: list[RenderFailed] = []
        requested: list[str] = []
        try:
            await context.route("**/*", lambda route: self._route(route, response, requested))
            page = await context.new_page()
            page.on("popup", lambda popup: self._popup(popup, problems))
            page.on("crash", lambda _page: problems.append(
                RenderFailed("crashed", "the tab crashed")))
            page.on("dialog", self._dismiss)
            return await asyncio.wait_for(self._load(page, response, requested, problems),
                                          self.config.page_seconds + CAPTURE_SECONDS + 5)
        except TimeoutError:
            raise RenderFailed("timeout", f"the page took more than "
                               f"{self.config.page_seconds:g} s to render") from None
        except PlaywrightError as exc:
            if problems:
                raise problems[0] from exc
            raise RenderFailed("browser-error", str(exc).splitlines()[0]) from exc
        finally:
            try:
                await asyncio.wait_for(context.close(), 10)
            except Exception as exc:  # noqa: BLE001 -- a dead tab's context: the next page goes on
                log.warning("closing a page's browser context: %s", exc)

    async def _load(self, page: Any, response: Response, requested: list[str],
                    problems: list[RenderFailed]) -> Rendered:
        """Load, settle, scroll, settle, capture. A page still loading when its time is up
        (a slow host, at the crawl's politeness) is captured as far as it got; one whose
        scripts do not yield to a scroll is hung."""
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.page_seconds

        def left(most: float | None = None) -> float:
            remaining = max(0.5, deadline - loop.time())
            return min(remaining, most) if most is not None else remaining

        settled = True
        try:
            await page.goto(response.url, wait_until="load", timeout=left() * 1000)
        except PlaywrightTimeout:
            settled = False
        if settled:
            settled = await self._settle(page, left(self.config.settle_seconds))
        try:
            await asyncio.wait_for(page.evaluate(_SCROLL, self.config.max_scrolls),
                                   left() + 1)
        except TimeoutError:
            raise RenderFailed("timeout", "the page's scripts did not yield within "
                               f"{self.config.page_seconds:g} s") from None
        settled = await self._settle(page, left(self.config.settle_seconds)) and settled
        timeout = CAPTURE_SECONDS * 1000
        if problems:
            raise problems[0]
        html = await page.content()
        height = await page.evaluate("document.documentElement.scrollHeight")
        shot = await page.screenshot(
            type="png", timeout=timeout, full_page=int(height) <= MAX_SCREENSHOT_HEIGHT,
            clip=None if int(height) <= MAX_SCREENSHOT_HEIGHT else
            {"x": 0, "y": 0, "width": 1280, "height": MAX_SCREENSHOT_HEIGHT})
        if problems:
            raise problems[0]
        if not settled:
            self._stat("browser/unsettled")
        return Rendered(url=response.url, html=html, screenshot=shot,
                        requested=tuple(requested), settled=settled)

    async def _settle(self, page: Any, seconds: float) -> bool:
        """Wait for the network to go idle; False when it did not within ``seconds``."""
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        try:
            await page.wait_for_load_state("networkidle", timeout=seconds * 1000)
        except PlaywrightTimeout:
            return False
        return True

    def _popup(self, popup: Any, problems: list[RenderFailed]) -> None:
        problems.append(RenderFailed("popup", f"the page opened a window ({popup.url})"))
        self._closing.add(closing := asyncio.ensure_future(popup.close()))
        closing.add_done_callback(self._closing.discard)

    def _dismiss(self, dialog: Any) -> None:
        """alert(), confirm() and prompt() would wait for a reader forever."""
        self._closing.add(closing := asyncio.ensure_future(dialog.dismiss()))
        closing.add_done_callback(self._closing.discard)

    # -- the browser's requests ----------------------------------------------------------
    async def _route(self, route: Any, page: Response, requested: list[str]) -> None:
        """Answer one request of the browser: the page itself from the response the
        spider already has, anything else fetched by Scrapy's downloader now."""
        request = route.request
        url = request.url
        requested.append(url)
        try:
            if not url.startswith(("http://", "https://")):
                await route.abort("blockedbyclient")
                return
            if url == page.url and request.is_navigation_request() and \
                    request.frame.parent_frame is None and requested.count(url) == 1:
                await route.fulfill(status=page.status, headers=_fulfilled(page),
                                    body=page.body)
                return
            fetched = await self._fetch(request, page)
            if fetched is None:
                await route.abort("blockedbyclient")
                return
            await route.fulfill(status=fetched.status, headers=_fulfilled(fetched),
                                body=fetched.body)
        except Exception as exc:  # noqa: BLE001 -- one request's boundary: the page goes on
            if "closed" in str(exc) or "Target" in str(exc):
                return  # the page closed while this request was out
            log.warning("browser request %s: %s", url, exc)
            try:
                await route.abort("failed")
            except Exception as inner:  # noqa: BLE001 -- the page is gone: nothing to answer
                log.debug("aborting %s: %s", url, inner)

    async def _fetch(self, browser_request: Any, page: Response) -> Response | None:
        """One browser request through Scrapy's downloader and its middlewares
        (destination policy, robots.txt, cookies, politeness); None when it was refused
        or failed, which is recorded as any failed fetch is."""
        url = browser_request.url
        headers = await browser_request.all_headers()
        sent = {name: value for name, value in headers.items()
                if name.lower() not in _DROPPED_REQUEST and not name.startswith(":")}
        if "referer" in sent and site_key(sent["referer"]) != site_key(url):
            del sent["referer"]  # as the crawl's own requests: no Referer to other sites
        inherited = (keys.SOURCE, keys.SITES, "dont_obey_robotstxt")
        meta: dict[str, Any] = {key: page.meta[key] for key in inherited if key in page.meta}
        # A navigation's redirect goes back to the browser, which follows it (a request
        # of its own); Chromium does not follow one fulfilled to a script's fetch or an
        # image, so Scrapy follows those, each hop archived, and the browser gets the end.
        meta.update({keys.FOUND_BY: FoundBy.REQUISITE, keys.REFERRER: page.url,
                     RENDERING: page.url, "dont_retry": True,
                     # A slot of their own per host, with the crawl's delay and concurrency:
                     # not queued behind the spider's requests for the whole page's time.
                     "download_slot": f"{urlsplit(url).hostname or ''}#browser",
                     "dont_redirect": browser_request.is_navigation_request(),
                     "handle_httpstatus_all": browser_request.is_navigation_request()})
        request = Request(url, method=browser_request.method, headers=sent,
                          body=browser_request.post_data_buffer or b"", meta=meta,
                          dont_filter=True, priority=100)
        engine = self.crawler.engine
        assert engine is not None
        self._stat("browser/requests")
        try:
            return await engine.download_async(request)
        except IgnoreRequest as exc:
            self._send_failure(request, exc)
        except Exception as exc:  # noqa: BLE001 -- a failed fetch is data, as in the spider
            self._send_failure(request, exc)
        return None

    # -- what is archived ------------------------------------------------------------
    def _archive(self, response: Response, rendered: Rendered) -> None:
        # Named by the page's normalised URL, as the index names the page's captures.
        spider, url = self.crawler.spider, normalize_url(response.url)
        for uri, content_type, body in (
                (screenshot_uri(url), "image/png", rendered.screenshot),
                (dom_uri(url), "text/html; charset=utf-8",
                 rendered.html.encode("utf-8"))):
            self.crawler.signals.send_catch_log(resource_captured, uri=uri,
                                                content_type=content_type, body=body,
                                                request=response.request, spider=spider)

    def _failed(self, response: Response, error: RenderFailed) -> None:
        self._stat(f"browser/failed/{error.kind}")
        log.warning("rendering %s failed: %s", response.url, error)
        request = Request(RENDER_FAILURE_PREFIX + response.url, meta={
            keys.SOURCE: response.meta.get(keys.SOURCE), keys.FOUND_BY: FoundBy.OTHER,
            keys.REFERRER: response.url})
        self._send_failure(request, error)

    def _send_failure(self, request: Request, error: BaseException) -> None:
        self.crawler.signals.send_catch_log(
            fetch_failed, request=request,
            failure=Failure(error),  # type: ignore[no-untyped-call]
            spider=self.crawler.spider)

    def _stat(self, key: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(key)


def _fulfilled(response: Response) -> dict[str, str]:
    """The headers the browser is given with a decoded body: every value, joined
    (Set-Cookie by newlines, as Playwright takes several)."""
    headers: dict[str, str] = {}
    for raw in response.headers:
        name = raw.decode("latin-1")
        if name.lower() in _DROPPED_RESPONSE:
            continue
        values = [v.decode("latin-1") for v in response.headers.getlist(raw)]
        headers[name] = ("\n" if name.lower() == "set-cookie" else ", ").join(values)
    return headers


def _source_modes(home: Path | None) -> dict[int | None, str]:
    """Each source's ``--browser``, read once from the home's database."""
    if home is None or not (home / "vigil.db").exists():
        return {}
    try:
        conn = sqlite3.connect(f"file:{home / 'vigil.db'}?mode=ro", uri=True, timeout=30)
        try:
            rows = conn.execute("SELECT id, browser FROM sources").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        log.warning("cannot read the sources' browser modes: %s", exc)
        return {}
    return {row[0]: row[1] or BrowserMode.AUTO for row in rows}
