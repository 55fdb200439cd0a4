"""The source spider: a source page, its related articles, cited pages and requisites."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response, TextResponse
from scrapy.utils.misc import build_from_crawler, load_object
from twisted.python.failure import Failure

from archive.found_by import FoundBy
from archive.index import is_html
from archive.urls import normalize_url, site_key
from spiders import meta as keys
from spiders.budgets import HOPS, Budget, Budgets, BudgetSettings
from spiders.failures import BudgetExceeded, Refused, UrlTooLong
from spiders.frontier import Frontier
from spiders.links import classify, css_urls, requisites
from spiders.page import cites, nothing_to_follow, read, relates
from spiders.probes import Probes
from spiders.rendering import Renderer, RenderFailed, wants_rendering
from spiders.signals import fetch_failed

SEED, RELATED, CITED, REQUISITE, PROBE = (FoundBy.SEED, FoundBy.RELATED, FoundBy.CITED,
                                          FoundBy.REQUISITE, FoundBy.PROBE)
# What a request passes on to the requests it leads to. Everything else in meta belongs
# to one response (its truncation, its conditional request, its byte count, its redirects).
INHERITED = (keys.SOURCE, keys.FOUND_BY, keys.DEPTH, keys.MAX_DEPTH,
             keys.SITES, "dont_obey_robotstxt")


# Failure rows for URLs the spider itself refuses (too long, over a budget): this many per
# source and kind, the rest only counted (a trap page can hold a million such links).
REFUSALS_RECORDED = 10


def inherited(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: meta[k] for k in INHERITED if k in meta}


class SourceSpider(scrapy.Spider):
    """Crawls every source given to it; each request carries its source in ``meta``."""

    name = "sources"

    def __init__(self, sources: list[dict[str, Any]] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sources = sources or []
        # URLs already requested in this crawl. The dupe filter would drop a repeat too,
        # but only after a Request was built, fingerprinted and scheduled: on a site where
        # every page links a dozen others, that is most of a crawl's requests.
        self._requested: set[str] = set()
        self._frontier = Frontier(window=64, gate=self._in_budget)
        self._budgets = Budgets(BudgetSettings(pages=0, bytes=0, seconds=0, hops=0))
        self._url_limit = 0
        self._links_cap = 0
        self._refusals: dict[tuple[Any, str], int] = {}
        self._renderer: Renderer | None = None  # BROWSER_RENDERER's, made in from_crawler
        # Admitted with their site's first seed; sent, and counted in flight, by a page of
        # their site that may need them.
        self._probes = Probes(admit=self._admit, sent=self._frontier.sent)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SourceSpider:
        spider: SourceSpider = super().from_crawler(crawler, *args, **kwargs)
        # Enough requests out with Scrapy to keep every download slot busy.
        spider._frontier.window = max(16, 4 * crawler.settings.getint("CONCURRENT_REQUESTS"))
        spider._budgets = Budgets(BudgetSettings.from_settings(crawler.settings))
        # Scrapy's UrlLengthMiddleware would drop a longer URL unseen: it is refused here,
        # and recorded.
        spider._url_limit = crawler.settings.getint("URLLENGTH_LIMIT")
        spider._links_cap = crawler.settings.getint("CRAWL_MAX_LINKS_PER_PAGE")
        crawler.signals.connect(spider._idle, signal=signals.spider_idle)
        renderer = crawler.settings.get("BROWSER_RENDERER")
        if renderer:
            spider._renderer = build_from_crawler(load_object(renderer), crawler)
        return spider

    def _idle(self) -> None:
        """Nothing is in flight: hand Scrapy the next window, if any URL is waiting."""
        self._frontier.idle()
        if not self._frontier:
            return
        engine = self.crawler.engine
        assert engine is not None
        for request in self._frontier.release(self.failed):
            engine.crawl(request)
        raise DontCloseSpider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for source in self.sources:
            meta = {
                keys.SOURCE: source["id"],
                keys.FOUND_BY: SEED,
                keys.DEPTH: 0,
                keys.MAX_DEPTH: int(source["depth"]),
                keys.SITES: [site_key(source["url"])],
                keys.KNOWN: source.get("known", []),
            }
            if source.get("ignore_robots"):
                meta["dont_obey_robotstxt"] = True
            # Seeds go through the dupe filter too, so that a related article linking
            # back to its source does not fetch the source twice.
            self._requested.add(source["url"])
            if self._too_long(source["url"], meta) or not self._admit(source["url"], meta):
                continue
            self._frontier.sent()
            yield scrapy.Request(source["url"], callback=self.parse_page, errback=self.failed,
                                 meta=meta)
            self._probes.expect(self._probe(source["url"], meta))

    def _rechecks(self, meta: dict[str, Any], linked: set[str]) -> Iterator[scrapy.Request]:
        """Pages the source's last good crawl monitored that its page no longer links (or
        could not be read to link): fetched again, flagged, at the maximum depth so they
        bring requisites and citations but no further related articles."""
        for page in meta.get(keys.KNOWN, ()):
            if normalize_url(page["url"]) in linked:
                continue
            if page["url"] in self._requested:
                continue
            self._requested.add(page["url"])
            cited = page["found_by"] == CITED
            recheck = {**inherited(meta), keys.FOUND_BY: page["found_by"],
                       keys.DEPTH: meta[keys.MAX_DEPTH],
                       keys.REFERRER: page["referrer"], keys.RECHECK: True}
            if self._too_long(page["url"], recheck) or not self._admit(page["url"], recheck):
                continue
            self._frontier.sent()
            yield scrapy.Request(page["url"], callback=self.parse_cited if cited
                                 else self.parse_page, errback=self.failed, meta=recheck)

    def _probe(self, url: str, meta: dict[str, Any]) -> scrapy.Request:
        """A URL that never existed, next to the source: how the site says "not found"
        (a soft 404 page looks like this answer). Archived, flagged, not followed."""
        # The source's parent path on its own host: a source at the site's root has its
        # probe at the root too (cutting the URL's text there would cut into the host).
        parts = urlsplit(url)
        parent = parts.path.rstrip("/").rsplit("/", 1)[0]
        probe = f"{parts.scheme}://{parts.netloc}{parent}/vigil-probe-{secrets.token_hex(6)}/"
        return scrapy.Request(probe, callback=self.parse_probe, errback=self.failed,
                              meta={**inherited(meta), keys.FOUND_BY: PROBE})

    def parse_probe(self, response: Response) -> Iterator[scrapy.Request]:
        """The probe's answer is only kept for comparison."""
        self._answered(response)
        yield from self._frontier.release(self.failed)

    def _meta_for(self, response: Response, found_by: str,
                  extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """The meta of the requests a page leads to, one dict per kind of link (the
        frontier copies it when it makes a request)."""
        meta = inherited(response.meta)
        meta.update(extra or {})
        meta[keys.FOUND_BY], meta[keys.REFERRER] = found_by, response.url
        return meta

    def _follow(self, url: str, callback: Any, meta: dict[str, Any]) -> None:
        """Queue ``url``, unless this crawl has already asked for it or its source's
        budgets have no room (a refused URL is not remembered: what this crawl holds is
        bounded by its budgets, not by what pages link)."""
        if url in self._requested:
            return
        if self._too_long(url, meta):
            return
        if not _well_formed(url):
            # No failure row: the store keys rows by a normalised URL, which this has not.
            if self.crawler is not None and self.crawler.stats is not None:
                self.crawler.stats.inc_value("crawl/refused/malformed-url")
            return
        if not self._admit(url, meta):
            return
        self._requested.add(url)
        self._frontier.add(url, callback, meta)

    def _answered(self, response: Response) -> None:
        """A response came: room for one more request, and its bytes (as received) spent
        from its source's budget."""
        self._frontier.answered()
        size = response.meta.get(keys.RECEIVED) or len(response.body)
        self._budgets.spent_bytes(response.meta.get(keys.SOURCE), size)

    def _admit(self, url: str, meta: dict[str, Any]) -> bool:
        """Whether the source's budgets have room for one more request, ``url``
        (counted if so); if not, the refusal is recorded."""
        over = self._budgets.admit(meta.get(keys.SOURCE), meta.get(HOPS, 0))
        if over is None:
            return True
        budget, message = over
        self._refuse(url, meta, BudgetExceeded(f"{budget}: {message}"), str(budget))
        return False

    def _in_budget(self, url: str, meta: dict[str, Any]) -> bool:
        """The frontier's gate: a queued URL is still fetched only if its source has
        bytes and time left."""
        over = self._budgets.check(meta.get(keys.SOURCE))
        if over is None:
            return True
        budget, message = over
        self._refuse(url, meta, BudgetExceeded(f"{budget}: {message}"), str(budget))
        return False

    def _first(self, response: Response, urls: list[str]) -> list[str]:
        """A page's links of one kind, as many as CRAWL_MAX_LINKS_PER_PAGE: judging each
        link costs tens of microseconds, and a hostile page can hold a million."""
        cap = self._links_cap
        if not cap or len(urls) <= cap:
            return urls
        self._refuse(urls[cap], self._meta_for(response, FoundBy.OTHER), BudgetExceeded(
            f"{Budget.LINKS}: the page has {len(urls)} links of a kind, over "
            f"CRAWL_MAX_LINKS_PER_PAGE ({cap})"), str(Budget.LINKS), len(urls) - cap)
        return urls[:cap]

    def _too_long(self, url: str, meta: dict[str, Any]) -> bool:
        if not self._url_limit or len(url) <= self._url_limit:
            return False
        self._refuse(url, meta, UrlTooLong(
            f"the URL is {len(url)} characters long, over URLLENGTH_LIMIT "
            f"({self._url_limit})"), "url-length")
        return True

    def _refuse(self, url: str, meta: dict[str, Any], error: Refused, kind: str,
                count: int = 1) -> None:
        """Record that ``url`` (and ``count - 1`` more like it) is not fetched: a failure
        row for the first few of each kind of a source, a stat for every one."""
        stats = self.crawler.stats if self.crawler is not None else None
        if stats is not None:
            stats.inc_value(f"crawl/refused/{error.reason}/{kind}", count)
        key = (meta.get(keys.SOURCE), kind)
        count = self._refusals[key] = self._refusals.get(key, 0) + 1
        if count > REFUSALS_RECORDED or self.crawler is None:
            return
        try:
            request = scrapy.Request(url, meta=dict(meta))
        except ValueError:
            return
        self.crawler.signals.send_catch_log(fetch_failed, request=request,
                                            failure=Failure(error),  # type: ignore[no-untyped-call]
                                            spider=self)

    def parse_page(self, response: Response) -> Any:
        """Seeds and related articles: rendered in the browser when their source asks
        for it (spiders/rendering.py), then as ``_parse_page``."""
        renderer = self._renderer
        if renderer is not None and _is_html(response) and wants_rendering(
                renderer.mode(response.meta.get(keys.SOURCE)), response.body):
            return self._parse_rendered(response, renderer)
        return self._parse_page(response)

    async def _parse_rendered(self, response: Response,
                              renderer: Renderer) -> AsyncIterator[scrapy.Request]:
        """The page's links as the browser showed it; what the browser loaded (archived
        as it loaded it) is not requested again. If rendering failed (recorded), the
        page's links as fetched."""
        try:
            rendered = await renderer.render(response)
        except RenderFailed:
            rendered = None
        if rendered is not None:
            self._requested.update(rendered.requested)
            assert isinstance(response, TextResponse)
            response = response.replace(body=rendered.html.encode("utf-8"), encoding="utf-8")
        for request in self._parse_page(response, rendered is not None):
            yield request

    def _parse_page(self, response: Response, rendered: bool = False) -> Iterator[scrapy.Request]:
        """Follow requisites, related links and citations; for a seed, then recheck the
        known pages it no longer links."""
        self._answered(response)
        yield from self._probes.due(response, rendered)
        if response.meta.get(keys.FOUND_BY) != SEED:
            self._links(response, None)
        else:
            linked: set[str] = set()
            self._links(response, linked)
            yield from self._rechecks(response.meta, linked)
        yield from self._frontier.release(self.failed)

    def _links(self, response: Response, linked: set[str] | None) -> None:
        """Queue the page's requisites, citations and related articles. ``linked`` (a
        seed's) gets every page it links that way, requested before or not; without it, a
        link this crawl has already requested is passed over before it is judged (on most
        pages, most links), and a page with no other link it could follow is not judged."""
        if not _is_html(response):
            return
        assert isinstance(response, TextResponse)
        page = read(response)
        if page is None:
            return
        self._requisites(response, requisites(page.root, page.base))
        meta = response.meta
        # The seed's own redirect target counts as the source's site too.
        sites = list(dict.fromkeys([*meta[keys.SITES], site_key(response.url)]))
        if linked is None and nothing_to_follow(page, response.url, sites, self._requested,
                                                self._links_cap):
            return
        links = classify(page.root, page.base)
        content = self._first(response, links.content)
        depth, max_depth = meta[keys.DEPTH], meta[keys.MAX_DEPTH]
        requested = self._requested if linked is None else ()
        cited_meta: dict[str, Any] | None = None
        for url in content:
            if url in requested:
                continue
            if cites(url, response.url, sites):
                if linked is not None:
                    _link(linked, url)
                cited_meta = cited_meta or self._meta_for(response, CITED, {keys.SITES: sites})
                self._follow(url, self.parse_cited, cited_meta)
        if depth >= max_depth:
            return
        related_meta: dict[str, Any] | None = None
        for url in dict.fromkeys([*content, *self._first(response, links.related)]):
            if url in requested:
                continue
            if relates(url, response.url, sites):
                if linked is not None:
                    _link(linked, url)
                related_meta = related_meta or self._meta_for(
                    response, RELATED, {keys.DEPTH: depth + 1, keys.SITES: sites})
                self._follow(url, self.parse_page, related_meta)

    def parse_cited(self, response: Response) -> Iterator[scrapy.Request]:
        """Cited pages are captured with their requisites and never followed further."""
        self._answered(response)
        yield from self._probes.due(response)
        if _is_html(response):
            assert isinstance(response, TextResponse)
            page = read(response)
            if page is not None:
                self._requisites(response, requisites(page.root, page.base))
        yield from self._frontier.release(self.failed)

    def parse_requisite(self, response: Response) -> Iterator[scrapy.Request]:
        """Stylesheets bring their fonts, images and imports; other requisites end here."""
        self._answered(response)
        if isinstance(response, TextResponse) and b"css" in _content_type(response):
            self._requisites(response, css_urls(response.text, response.url))
        yield from self._frontier.release(self.failed)

    def _requisites(self, response: Response, urls: list[str]) -> None:
        """Queue requisites one hop deeper than ``response`` (a page's own are 1 deep)."""
        meta: dict[str, Any] | None = None
        for url in self._first(response, urls):
            if url not in self._requested:
                meta = meta or self._meta_for(
                    response, REQUISITE, {HOPS: response.meta.get(HOPS, 0) + 1})
                self._follow(url, self.parse_requisite, meta)

    def failed(self, failure: Failure) -> Iterator[scrapy.Request]:
        """Failures are data: hand them to the archiver to record, and go on. A seed that
        cannot be fetched still has its known pages checked."""
        self._frontier.answered()
        request = getattr(failure, "request", None)
        if request is not None:
            # A body refused once received (past CRAWL_PARSE_LIMIT, archived unread) or cut
            # off still came: its bytes count, or pages of them would pass the budget.
            self._budgets.spent_bytes(request.meta.get(keys.SOURCE),
                                      request.meta.get(keys.RECEIVED) or 0)
            if self.crawler is not None:
                self.crawler.signals.send_catch_log(fetch_failed, request=request,
                                                    failure=failure, spider=self)
            if request.meta.get(keys.FOUND_BY) == SEED:
                yield from self._rechecks(request.meta, set())
        yield from self._frontier.release(self.failed)


def _well_formed(url: str) -> bool:
    """A URL Scrapy can request: a link with port 99999 or a broken IPv6 host is passed
    over alone, never stopping the page's other links."""
    try:
        urlsplit(url).port  # noqa: B018 -- raises ValueError on a bad port or host
    except ValueError:
        return False
    return True


def _link(linked: set[str], url: str) -> None:
    with contextlib.suppress(ValueError):  # not a URL any page could be known by
        linked.add(normalize_url(url))


def _content_type(response: Response) -> bytes:
    return (response.headers.get(b"Content-Type") or b"").lower()


def _is_html(response: Response) -> bool:
    kind = _content_type(response)
    if kind:
        return is_html(kind.decode("latin-1")) and isinstance(response, TextResponse)
    # No Content-Type: trust Scrapy's sniffing only when it chose HTML.
    return response.__class__.__name__ == "HtmlResponse"
