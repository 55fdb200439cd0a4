"""The crawl summary's figures are the crawl's own, whoever started it."""

from __future__ import annotations

from conftest import Vigil
from crawler.demo.siteserver import Resource, SiteServer

MIB = 1 << 20


def test_peak_memory_is_the_crawls_not_the_process_that_started_it(vigil: Vigil) -> None:
    # A large parent: ru_maxrss would carry its high-water mark through exec.
    ballast = bytearray(400 * MIB)
    for offset in range(0, len(ballast), 4096):
        ballast[offset] = 1
    with SiteServer({"/note": Resource(b"<html><body><p>A note.</p></body></html>")},
                    host="127.0.0.2") as site:
        vigil.run("add", site.url("/note"))
        summary = vigil.crawl()
    assert len(ballast) == 400 * MIB
    assert 10_000 < summary["peak_rss_kb"] < 300_000, summary["peak_rss_kb"]
