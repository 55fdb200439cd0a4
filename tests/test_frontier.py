"""The crawl frontier: URLs wait as tuples and go to Scrapy a window at a time."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from conftest import Vigil, send_html
from crawler.app.store import Store
from crawler.demo.siteserver import SiteServer
from spiders.frontier import Frontier


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
