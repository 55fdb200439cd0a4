"""The monitor reads a page whole only up to its read limit; a larger one compares by digest."""

from __future__ import annotations

from conftest import Vigil
from crawler.demo.siteserver import Resource, SiteServer
from monitor.detect import READ_LIMIT


def _page(word: str) -> bytes:
    # Past the read limit: parsed whole, its tree would hold several times its size.
    paragraph = b"<p>The council's minutes record each vote of the session in turn.</p>"
    body = paragraph * (READ_LIMIT // len(paragraph) + 1000)
    return (b"<html><head><title>Minutes</title></head><body><article><h1>Minutes</h1><p>"
            + word.encode() + b"</p>" + body + b"</article></body></html>")


def test_a_page_past_the_read_limit_is_compared_by_digest_not_read(vigil: Vigil) -> None:
    resource = Resource(_page("approved"), content_type="text/html")
    with SiteServer({"/minutes": resource}, host="127.0.0.2") as site:
        vigil.run("add", site.url("/minutes"))
        vigil.crawl()
        resource.body = _page("rejected")
        second = vigil.crawl()
        third = vigil.crawl()
        url = site.url("/minutes")
    # Cited by its URL and times, not read: its title is not taken from the page.
    cited = vigil.run("cite", url).stdout.decode()
    assert url in cited and "Minutes" not in cited
    [event] = second["events"]
    assert event["kind"] == "edited"
    assert event["summary"].startswith("Edited: the page changed (too large to read whole"), \
        event["summary"]
    assert third["events"] == [], "an unchanged large page raises nothing"
