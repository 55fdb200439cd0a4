"""Conditional recapture asks with a page's validators only when they can tell an edit."""

from __future__ import annotations

import email.utils
import time

from conftest import Vigil, validating
from crawler.demo.siteserver import SiteServer

# The page's ETag never changes, as nginx's names a file by its time in seconds and size.
ETAG = '"same"'


def _page(words: str) -> bytes:
    return (f"<html><head><title>Ruling</title></head><body><article><h1>Ruling</h1>"
            f"<p>{words}</p></article></body></html>").encode()


def test_a_page_modified_in_the_second_it_was_captured_is_asked_for_whole_next_time(
        vigil: Vigil) -> None:
    # The page changed in the second it was captured: its validators would still match
    # after an edit in that same second.
    state = {"body": _page("The court found for the council, five votes to two.")}
    now = validating(lambda: state["body"], ETAG,
                     last_modified=lambda: email.utils.formatdate(time.time(), usegmt=True))
    with SiteServer({"/ruling": now}, host="127.0.0.2") as site:
        vigil.run("add", site.url("/ruling"))
        vigil.crawl()
        state["body"] = _page("The court found for the council, four votes to three.")
        second = vigil.crawl()
    [event] = second["events"]
    assert event["kind"] == "edited" and "four" in event["summary"]
    [_, again] = vigil.json("history", site.url("/ruling"))
    assert (again["status"], again["revisit"]) == (200, False)


def test_a_page_last_modified_well_before_its_capture_is_asked_for_conditionally(
        vigil: Vigil) -> None:
    state = {"body": _page("The court found for the council, five votes to two.")}
    old = validating(lambda: state["body"], ETAG,
                     last_modified=lambda: email.utils.formatdate(1_700_000_000, usegmt=True))
    with SiteServer({"/ruling": old}, host="127.0.0.2") as site:
        vigil.run("add", site.url("/ruling"))
        vigil.crawl()
        second = vigil.crawl()
    assert second["events"] == []
    [_, again] = vigil.json("history", site.url("/ruling"))
    assert (again["status"], again["revisit"]) == (304, True)
