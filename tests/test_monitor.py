"""The monitor, end to end: real crawls of a site that is edited and taken down between them."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from conftest import FAST, Vigil, edited_seed, send_html, validating
from crawler.demo.replica import (
    KEEP_READING,
    OUTSIDE_PDF,
    OUTSIDE_REPORT,
    RELATED,
    SEED_PATH,
    _page,
)
from crawler.demo.siteserver import Resource, Route, SiteServer

MOVED_TO = "/2026/04/01/volunteers-publish-their-flood-map/"


def kinds(events: list[dict[str, object]]) -> list[tuple[object, object]]:
    return sorted((e["kind"], e["url"]) for e in events)


def notice_page() -> bytes:
    return _page("Article unavailable", '<article class="post"><h1>Article unavailable</h1>'
                 "<p>This article is no longer available.</p></article>")


@pytest.fixture
def watched(vigil: Vigil, news: SiteServer) -> Vigil:
    vigil.run("add", news.url(SEED_PATH), "--name", "herald")
    return vigil


def test_a_page_whose_only_changes_are_sidebar_ads_and_timestamps_raises_nothing(
        watched: Vigil, news: SiteServer, outside: SiteServer) -> None:
    first = watched.crawl()
    second = watched.crawl()
    assert first["events"] == [] and second["events"] == []
    seed = news.sent[SEED_PATH]
    assert seed[0] != seed[1], "the replica's noise should differ between fetches"
    assert watched.json("changes") == []


def test_edits_removals_moves_and_dead_links_are_reported_once_with_kind_and_url(
        watched: Vigil, news: SiteServer, outside: SiteServer) -> None:
    watched.crawl()
    routes = news.routes
    routes[SEED_PATH] = Resource(lambda: edited_seed(outside.base), gzip=True)
    routes[RELATED[0]] = Resource(b"<h1>Not Found</h1>", status=404)
    routes[RELATED[1]] = Resource(b"", status=301, headers=[("Location", "/")])
    routes[KEEP_READING[0]] = Resource(notice_page)
    routes[KEEP_READING[1]] = Resource(b"", status=301, headers=[("Location", MOVED_TO)])
    routes[MOVED_TO] = Resource(_page("Volunteers publish their flood map",
                                      "<article><h1>Map</h1><p>The map is out.</p></article>"))
    outside.routes[OUTSIDE_REPORT] = Resource(b"<h1>Gone</h1>", status=410)

    events = watched.crawl()["events"]
    seed = news.url(SEED_PATH)
    assert kinds(events) == sorted([
        ("edited", seed),
        ("removed", news.url(RELATED[0])),
        ("removed", news.url(RELATED[1])),
        ("removed", news.url(KEEP_READING[0])),
        ("moved", news.url(KEEP_READING[1])),
        ("dead_link", seed),
    ])
    by_kind = {(e["kind"], e["url"]): e for e in events}
    edit = by_kind[("edited", seed)]
    assert "confirmed" in edit["summary"] and "denied" in edit["summary"]
    assert "confirmed" in " ".join(edit["details"]["added"])
    assert 0.8 < edit["details"]["similarity"] < 1.0
    # Two crawls may fall in one second: the captures' order is their ids'.
    assert edit["before"] and edit["after"] and edit["before"] <= edit["after"]
    assert edit["before_capture"] < edit["after_capture"]
    assert "404" in by_kind[("removed", news.url(RELATED[0]))]["summary"]
    assert "home page" in by_kind[("removed", news.url(RELATED[1]))]["summary"]
    assert "no longer available" in by_kind[("removed", news.url(KEEP_READING[0]))]["summary"]
    assert by_kind[("moved", news.url(KEEP_READING[1]))]["details"]["new_url"] == \
        news.url(MOVED_TO)
    dead = by_kind[("dead_link", seed)]
    assert dead["link"] == outside.url(OUTSIDE_REPORT) and "410" in dead["summary"]
    assert dead["before"] is not None
    assert watched.json("history", news.url(MOVED_TO))[-1]["status"] == 200

    assert watched.crawl()["events"] == [], "a change is reported by the first crawl only"

    routes[RELATED[0]] = Resource(lambda: _page("Back", "<article><h1>Inspectors flagged "
                                  "cracks a year earlier</h1><p>The piece is back.</p>"
                                  "</article>"))
    assert kinds(watched.crawl()["events"]) == [("restored", news.url(RELATED[0]))]
    listed = watched.json("changes", "--kind", "removed")
    assert {e["url"] for e in listed} == {news.url(RELATED[0]), news.url(RELATED[1]),
                                          news.url(KEEP_READING[0])}
    assert {e["kind"] for e in watched.json("changes", "--url", outside.url(OUTSIDE_REPORT))} \
        == {"dead_link"}


def test_a_single_503_is_not_a_removal_but_three_in_a_row_are_unreachable(
        vigil: Vigil) -> None:
    statuses = iter([200, 503, 200, 503, 503, 503, 503])

    def flaky(handler: BaseHTTPRequestHandler) -> None:
        send_html(handler, b"<article><h1>Budget</h1><p>" + b"The council met. " * 40
                  + b"</p></article>", next(statuses))

    with SiteServer({"/2026/05/05/budget/": flaky}, host="127.0.0.2") as site:
        vigil.run("add", site.url("/2026/05/05/budget/"), "--depth", "0")
        no_retry = ("-s", "RETRY_ENABLED=False")
        got = [vigil.crawl(*no_retry)["events"] for _ in range(6)]
    assert got[:5] == [[], [], [], [], []]
    assert kinds(got[5]) == [("unreachable", site.url("/2026/05/05/budget/"))]
    assert "3 consecutive" in got[5][0]["summary"]


# A site's answer to any URL it does not know, with a 200: its soft 404.
SOFT_404 = _page("Oops", "<article><h1>Oops</h1><p>We looked everywhere for that page "
                 "and it seems to have wandered off, try the search box above or go "
                 "back to the front page for today's stories.</p></article>")
DAM_REPORT, SPILLWAY = "/2026/06/06/dam-report/", "/2026/06/05/spillway-inspection/"


def story(title: str, more: str = "") -> bytes:
    return _page(title, f"<article><h1>{title}</h1><p>" + "Details of the report were "
                 "published on Monday by the river authority. " * 8 + f"{more}</p></article>")


def probes_in(requests: list[str]) -> list[str]:
    return [path for path in requests if "/vigil-probe-" in path]


def test_a_page_that_becomes_the_sites_soft_404_is_removed(vigil: Vigil) -> None:
    routes = {"*": Resource(SOFT_404), DAM_REPORT: Resource(story("Dam report"))}
    with SiteServer(routes, host="127.0.0.2") as site:
        vigil.run("add", site.url(DAM_REPORT), "--depth", "0")
        assert vigil.crawl()["events"] == []
        routes[DAM_REPORT] = Resource(SOFT_404)
        events = vigil.crawl()["events"]
    assert kinds(events) == [("removed", site.url(DAM_REPORT))]
    assert "not-found page" in events[0]["summary"]
    probes = [e for e in vigil.json("history", site.url("/2026/06/06/")) if e]
    assert probes == []  # the probe lives under its own random URL, flagged as a probe
    with sqlite3.connect(vigil.home / "vigil.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM captures WHERE found_by = 'probe'"
                            ).fetchone()[0] == 2


def validating_articles() -> dict[str, Route]:
    """The soft-404 site with two articles that answer 304 to their ETag, the first
    linking the second."""
    link = f"<a href='{SPILLWAY}'>The spillway was inspected in May.</a>"
    return {"*": Resource(SOFT_404),
            DAM_REPORT: validating(lambda: story("Dam report", link), '"dam-1"'),
            SPILLWAY: validating(lambda: story("Spillway inspection"), '"spillway-1"')}


def test_an_unchanged_recapture_sends_no_not_found_probe(vigil: Vigil) -> None:
    with SiteServer(validating_articles(), host="127.0.0.2") as site:
        vigil.run("add", site.url(DAM_REPORT), "--depth", "1")
        first = vigil.crawl()
        before = len(site.requests)
        second = vigil.crawl()
        asked = site.requests[before:]
    assert first["found_by"].get("probe") == 1 and len(probes_in(site.requests)) == 1
    assert first["events"] == second["events"] == []
    # Both articles were asked for again and answered 304: nothing the probe would tell.
    assert DAM_REPORT in asked and SPILLWAY in asked and probes_in(asked) == []
    assert "probe" not in second["found_by"], second
    for path in (DAM_REPORT, SPILLWAY):
        assert [(c["status"], c["revisit"]) for c in vigil.json(
            "history", site.url(path))] == [(200, False), (304, True)]


def test_a_recapture_where_one_page_changed_sends_one_probe_and_finds_the_soft_404(
        vigil: Vigil) -> None:
    routes = validating_articles()
    with SiteServer(routes, host="127.0.0.2") as site:
        vigil.run("add", site.url(DAM_REPORT), "--depth", "1")
        vigil.crawl()
        before = len(site.requests)
        routes[SPILLWAY] = Resource(SOFT_404)
        summary = vigil.crawl()
        asked = site.requests[before:]
    probes = probes_in(asked)
    assert summary["found_by"].get("probe") == 1 and len(probes) == 1, asked
    # Sent once the changed page came (the source answered 304), not with the source.
    assert asked.index(SPILLWAY) < asked.index(probes[0]), asked
    assert kinds(summary["events"]) == [("removed", site.url(SPILLWAY))]
    assert "not-found page" in summary["events"][0]["summary"]
    assert vigil.json("history", site.url(DAM_REPORT))[-1]["status"] == 304


def test_an_article_cut_to_a_stub_is_removed(vigil: Vigil) -> None:
    story = _page("Testimony", "<article><h1>Testimony</h1>" + "".join(
        f"<p>Witness {i} described what happened in the camp in careful detail.</p>"
        for i in range(20)) + "</article>")
    stub = _page("Testimony", "<article><h1>Testimony</h1><p>Subscribe to keep reading "
                 "this story.</p></article>")
    routes = {"/2026/07/07/testimony/": Resource(story)}
    with SiteServer(routes, host="127.0.0.2") as site:
        vigil.run("add", site.url("/2026/07/07/testimony/"), "--depth", "0")
        vigil.crawl()
        routes["/2026/07/07/testimony/"] = Resource(stub)
        events = vigil.crawl()["events"]
    assert kinds(events) == [("removed", site.url("/2026/07/07/testimony/"))]
    assert "stub" in events[0]["summary"]


def test_a_cited_host_that_stops_answering_is_a_dead_link(
        watched: Vigil, news: SiteServer, outside: SiteServer) -> None:
    watched.crawl()
    outside.stop()
    events = watched.crawl()["events"]
    dead = sorted(e["link"] for e in events if e["kind"] == "dead_link")
    assert dead == sorted([outside.url(OUTSIDE_REPORT), outside.url(OUTSIDE_PDF)])
    assert {e["url"] for e in events} == {news.url(SEED_PATH)}


def test_a_new_extractor_version_re_extracts_instead_of_reporting_an_edit(
        watched: Vigil, news: SiteServer, outside: SiteServer) -> None:
    watched.crawl()
    watched.crawl()  # the noise changes the bytes: both captures are extracted and cached
    with sqlite3.connect(watched.home / "vigil.db") as conn:
        changed = conn.execute("UPDATE extracts SET extractor = 'trafilatura/0.1', "
                               "text = 'Something else entirely', words = 3").rowcount
    assert changed > 0
    assert watched.crawl()["events"] == []


REPORT_TEXT = "Le café du village a fermé après la crue, selon le maire. " * 12
REPORT = ("<html><head><meta charset='utf-8'><title>Report</title></head><body><article>"
          f"<h1>Report</h1><p>{REPORT_TEXT}</p></article></body></html>")


@pytest.fixture
def bad_site() -> Iterator[SiteServer]:
    routes = {"/2026/08/08/report/": Resource(REPORT.encode("utf-8"))}
    with SiteServer(routes, host="127.0.0.2") as server:
        yield server


@pytest.mark.parametrize("replacement", [
    # The same article in broken markup: unclosed tags, no </body>.
    Resource(f"<html><body><article><h1>Report<p>{REPORT_TEXT}<div><b>".encode()),
    # The same article, its charset wrong (cp1252 bytes declared as UTF-8) or missing.
    Resource(REPORT.replace("charset='utf-8'", "").encode("cp1252"),
             content_type="text/html; charset=utf-8"),
    Resource(REPORT.replace("charset='utf-8'", "").encode("cp1252"), content_type="text/html"),
    # No article at all: an empty body, binary bytes labelled as HTML.
    Resource(b"", content_type="text/html"),
    Resource(bytes(range(256)) * 40, content_type="text/html"),
], ids=["malformed", "wrong-charset", "missing-charset", "empty", "binary-as-html"])
def test_bad_html_raises_no_false_edit_and_no_crash(vigil: Vigil, bad_site: SiteServer,
                                                    replacement: Resource) -> None:
    url = bad_site.url("/2026/08/08/report/")
    vigil.run("add", url, "--depth", "0")
    vigil.crawl()
    bad_site.routes["/2026/08/08/report/"] = replacement
    events = vigil.crawl()["events"]
    assert "edited" not in [e["kind"] for e in events]
    bad_site.routes["/2026/08/08/report/"] = Resource(REPORT.encode("utf-8"))
    assert "edited" not in [e["kind"] for e in vigil.crawl()["events"]]


def test_diff_shows_the_words_that_changed(watched: Vigil, news: SiteServer,
                                           outside: SiteServer) -> None:
    watched.crawl()
    news.routes[SEED_PATH] = Resource(lambda: edited_seed(outside.base), gzip=True)
    watched.crawl()
    out = watched.run("diff", news.url(SEED_PATH)).stdout.decode()
    assert "[-denied-] {+confirmed+} that [-any neighbourhood-] {+two neighbourhoods+} had" \
        in out
    assert "Residents of the lower district" in out  # context stays
    assert watched.run("diff", news.url("/nope/"), ok=False).returncode == 1


def _live_page(count: int, extra: str = "") -> bytes:
    return _page("Inquiry", "<article><h1>Inquiry opens</h1><p>" + "The inquiry heard from "
                 "residents of the lower district about the night of the flood. " * 6 +
                 f"</p><p class='live-count'>Readers following this story now: {count}</p>"
                 f"{extra}</article>")


@pytest.mark.parametrize(("options", "edited"), [
    ((), True),
    (("--remove-selector", ".live-count"), False),
    (("--ignore-text", r"Readers following this story now: \d+"), False),
    (("--include-selector", "article > p:not(.live-count)"), False),
    (("--min-change", "0.2"), False),
])
def test_per_source_options_decide_what_counts_as_an_edit(
        vigil: Vigil, options: tuple[str, ...], edited: bool) -> None:
    counter = iter(range(100, 200))
    routes = {"/2026/09/09/inquiry/": Resource(lambda: _live_page(next(counter)))}
    with SiteServer(routes, host="127.0.0.2") as site:
        vigil.run("add", site.url("/2026/09/09/inquiry/"), "--depth", "0", *options)
        vigil.crawl()
        events = vigil.crawl()["events"]
    assert [e["kind"] for e in events] == (["edited"] if edited else [])


def test_an_html_page_without_an_article_is_not_compared_by_its_bytes(vigil: Vigil) -> None:
    counter = iter(range(100))
    routes = {"/2026/09/10/gallery/": Resource(
        lambda: f"<html><body><img src='/a.png'><i>{next(counter)}</i></body></html>".encode())}
    with SiteServer(routes, host="127.0.0.2") as site:
        vigil.run("add", site.url("/2026/09/10/gallery/"), "--depth", "0")
        vigil.crawl()
        assert vigil.crawl()["events"] == []


def test_an_invalid_selector_or_regex_is_refused(vigil: Vigil) -> None:
    for option in (("--remove-selector", "div[["), ("--ignore-text", "(unclosed")):
        result = vigil.run("add", "https://example.org/a", *option, ok=False)
        assert result.returncode == 2 and len(result.stderr.splitlines()) == 1
    assert vigil.json("sources") == []


def test_a_source_that_is_not_html_compares_by_digest(vigil: Vigil) -> None:
    versions = iter([b"%PDF-1.4 first", b"%PDF-1.4 first", b"%PDF-1.4 second"])
    routes = {"/docs/order.pdf": Resource(lambda: next(versions),
                                          content_type="application/pdf")}
    with SiteServer(routes, host="127.0.0.2") as site:
        vigil.run("add", site.url("/docs/order.pdf"))
        vigil.crawl()
        assert vigil.crawl()["events"] == []
        events = vigil.crawl()["events"]
    assert kinds(events) == [("edited", site.url("/docs/order.pdf"))]
    assert events[0]["details"]["digest_before"] != events[0]["details"]["digest_after"]


def test_when_every_page_of_a_host_fails_one_event_names_the_host(
        watched: Vigil, news: SiteServer, outside: SiteServer) -> None:
    watched.crawl()
    host = news.base
    news.stop()
    got = [watched.crawl("-s", "RETRY_ENABLED=False")["events"] for _ in range(3)]
    own = [[e for e in events if e["kind"] == "unreachable"] for events in got]
    assert own[:2] == [[], []]
    assert [e["url"] for e in own[2]] == [host + "/"]
    assert "every page" in own[2][0]["summary"]


def test_changes_filters_by_time_kind_and_url(watched: Vigil, news: SiteServer) -> None:
    watched.crawl()
    news.routes[RELATED[0]] = Resource(b"gone", status=410)
    watched.crawl()
    [event] = watched.json("changes")
    assert event["kind"] == "removed" and "410 Gone" in event["summary"]
    assert watched.json("changes", "--since", "2999-01-01") == []
    assert watched.json("changes", "--since", event["detected_at"]) == [event]
    assert watched.json("changes", "--kind", "edited") == []
    assert watched.json("changes", "--url", news.url(RELATED[1])) == []
    assert watched.run("changes", "--since", "soon", ok=False).returncode == 2


def test_pages_the_crawl_refuses_to_fetch_raise_no_event(watched: Vigil) -> None:
    # Captured once; then refused by the crawl itself, three times (a page failing in three
    # crawls in a row would be unreachable): related and cited pages past the page budget.
    watched.crawl()
    later = [watched.json("crawl", *FAST, "-s", "CRAWL_SOURCE_MAX_PAGES=1")
             for _ in range(3)]
    errors = {f["error"] for f in _failures(watched)}
    assert "budget" in errors, errors
    events = [e for crawl in later for e in crawl["events"]]
    assert [e for e in events if e["kind"] in ("dead_link", "unreachable", "removed")] == []


def _failures(vigil: Vigil) -> list[dict[str, object]]:
    import sqlite3

    with sqlite3.connect(vigil.home / "vigil.db") as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM failures")]
