"""The crawl frontier: URLs wait as tuples and go to Scrapy a window at a time."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

import pytest
import scrapy
from scrapy.http import HtmlResponse

from conftest import Vigil, send_html
from crawler.app.store import Store
from crawler.demo.siteserver import SiteServer
from spiders.frontier import Frontier
from spiders.meta import NOT_MODIFIED, REDIRECT_URLS
from spiders.probes import Probes, compared_with_probe


def _noop(*_args: Any) -> None:
    return None


def test_the_frontier_hands_out_no_more_than_its_window_last_found_first() -> None:
    frontier = Frontier(window=3)
    meta = {"vigil_referrer": "http://a.test/", "vigil_depth": 1}
    for n in range(5):
        frontier.add(f"http://a.test/{n}", _noop, meta)
    first = list(frontier.release(_noop))
    assert [r.url for r in first] == ["http://a.test/4", "http://a.test/3", "http://a.test/2"]
    assert list(frontier.release(_noop)) == []  # the window is full
    frontier.answered()
    assert [r.url for r in frontier.release(_noop)] == ["http://a.test/1"]
    frontier.idle()  # Scrapy dropped some without a callback: nothing is out after all
    assert [r.url for r in frontier.release(_noop)] == ["http://a.test/0"]
    assert len(frontier) == 0


def test_each_request_gets_its_own_meta_and_the_referrer_as_its_referer_header() -> None:
    frontier = Frontier(window=10)
    shared = {"vigil_referrer": "http://a.test/page", "vigil_depth": 2}
    frontier.add("http://a.test/1", _noop, shared)
    frontier.add("http://a.test/2", _noop, shared)
    one, two = frontier.release(_noop)
    one.meta["depth"] = 99  # Scrapy writes into each request's meta
    assert two.meta == shared and "depth" not in shared
    assert one.headers.get(b"Referer") == b"http://a.test/page"


def _site(chain: int, leaves: int) -> dict[str, Any]:
    """``/p0`` … ``/p<chain-1>``, each linking the next page and ``leaves`` leaf pages, every
    link twice with its query in another order: Scrapy's dupe filter drops the second
    copy without calling back, so the frontier's count of requests out goes wrong."""
    def page(handler: BaseHTTPRequestHandler) -> None:
        path = urlsplit(handler.path).path
        links = []
        if path.startswith("/p"):
            n = int(path[2:])
            targets = [f"/x{n}-{k}" for k in range(leaves)]
            if n + 1 < chain:
                targets.append(f"/p{n + 1}")
            for target in targets:
                links += [f"<a href='{target}?a=1&amp;b=2'>one</a>",
                          f"<a href='{target}?b=2&amp;a=1'>two</a>"]
        send_html(handler, (f"<html><body><article><h1>{path}</h1><p>Some words of the "
                            f"story.</p>{''.join(links)}</article></body></html>").encode())
    return {"*": page}


def _response(url: str, status: int = 200, flags: tuple[str, ...] = (),
              redirected_from: str | None = None) -> HtmlResponse:
    meta = {REDIRECT_URLS: [redirected_from]} if redirected_from else {}
    return HtmlResponse(url, status=status, flags=list(flags), body=b"<p>Text.</p>",
                        request=scrapy.Request(url, meta=meta))


@pytest.mark.parametrize(("response", "rendered", "needed"), [
    (_response("http://a.test/x"), False, True),  # fetched whole
    (_response("http://a.test/x", flags=(NOT_MODIFIED,)), False, False),  # a 304
    (_response("http://a.test/x", flags=(NOT_MODIFIED,)), True, True),  # its DOM is new
    # Redirects led to the 304: each a fresh answer the monitor judges.
    (_response("http://a.test/y", flags=(NOT_MODIFIED,), redirected_from="http://a.test/x"),
     False, True),
    (_response("http://a.test/x", status=301), False, True),  # a 3xx with no Location
    (_response("http://a.test/x", status=404), False, False),  # judged by its status alone
    (_response("http://a.test/y", status=410, redirected_from="http://a.test/x"), False, False),
    (_response("http://a.test/x", status=503), True, False),
])
def test_a_page_may_be_compared_with_the_not_found_probe_only_when_it_came_with_content(
        response: HtmlResponse, rendered: bool, needed: bool) -> None:
    assert compared_with_probe(response, rendered) is needed


def test_a_sites_probe_is_admitted_once_and_sent_by_the_first_page_that_needs_it() -> None:
    asked: list[str] = []
    sent: list[int] = []

    def admit(url: str, meta: dict[str, Any]) -> bool:
        asked.append(url)
        return not url.startswith("http://c.test/")  # c.test's budget is spent

    probes = Probes(admit=admit, sent=lambda: sent.append(1))
    for url in ("http://a.test/vigil-probe-1/", "http://www.a.test/vigil-probe-2/",
                "http://b.test:8080/vigil-probe-3/", "http://c.test/vigil-probe-4/",
                "http://c.test/vigil-probe-5/"):
        probes.expect(scrapy.Request(url))
    # One per site, asked of the budgets as its first seed is; a refused one is not retried.
    assert asked == ["http://a.test/vigil-probe-1/", "http://b.test:8080/vigil-probe-3/",
                     "http://c.test/vigil-probe-4/"]
    assert list(probes.due(_response("http://a.test/x", flags=(NOT_MODIFIED,)))) == []
    assert list(probes.due(_response("http://b.test/x"))) == []  # another site: no port
    assert list(probes.due(_response("http://c.test/x"))) == []
    # The site a page was asked of, not where its redirects ended.
    [probe] = probes.due(_response("http://b.test/y", redirected_from="http://a.test/x"))
    assert probe.url == "http://a.test/vigil-probe-1/" and sent == [1]
    assert list(probes.due(_response("http://a.test/z"))) == []  # sent once a crawl
    [probe] = probes.due(_response("http://b.test:8080/x"))
    assert probe.url == "http://b.test:8080/vigil-probe-3/" and sent == [1, 1]


def test_a_crawl_far_wider_than_the_window_fetches_every_page_once(vigil: Vigil) -> None:
    chain, leaves = 30, 5
    with SiteServer(_site(chain, leaves), host="127.0.0.2") as site:
        vigil.run("add", f"{site.base}/p0?a=1&b=2", "--depth", "100", "--ignore-robots")
        # Two requests at a time: a window of 16 against 180 pages and 180 dropped copies.
        summary = vigil.crawl("-s", "CONCURRENT_REQUESTS=2")
    assert summary["status"] == "finished"
    store = Store.open(vigil.home / "vigil.db")
    try:
        paths = [urlsplit(c.url).path for c in store.captures.all()
                 if c.found_by != "probe"]
    finally:
        store.close()
    expected = {f"/p{n}" for n in range(chain)} | {
        f"/x{n}-{k}" for n in range(chain) for k in range(leaves)}
    assert set(paths) == expected
    assert len(paths) == len(expected), "a page was fetched twice"
