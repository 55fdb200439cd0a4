"""The editors' desk in Chromium: changes, review pages, timelines, sources and writing."""

from __future__ import annotations

import json
import os
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from recaptured import start_serve, wait_for

from conftest import Vigil, free_port, next_second, stamp14
from crawler.demo.replica import OUTSIDE_REPORT, RELATED, SEED_PATH
from crawler.demo.siteserver import Resource, SiteServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SHOTS = Path(os.environ.get("VIGIL_DESK_SHOTS", "/tmp/desk-shots"))
# The README's screenshot is rewritten only when asked (VIGIL_UPDATE_DOCS=1): a test run
# leaves the tree as it found it.
DOCS_SHOT = Path(__file__).resolve().parent.parent / "docs" / "review-page.png" \
    if os.environ.get("VIGIL_UPDATE_DOCS") else SHOTS / "review-page.png"
TOKEN = "correct horse battery staple"
MOVED_TO = "/2026/02/20/county-denies-delaying-the-evacuation-order/"
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(),
                                    reason="Debian chromium is installed by make")


@dataclass
class Desk:
    vigil: Vigil
    base: str
    news: SiteServer
    outside: SiteServer

    def get(self, path: str, headers: dict[str, str] | None = None) -> Any:
        request = urllib.request.Request(self.base + path, headers=headers or {})
        try:
            return urllib.request.build_opener(_NoRedirect).open(request, timeout=30)
        except urllib.error.HTTPError as error:
            return error

    def post(self, path: str, fields: dict[str, str], headers: dict[str, str] | None = None,
             ) -> Any:
        data = urllib.parse.urlencode(fields).encode()
        request = urllib.request.Request(self.base + path, data=data, method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded", **(headers or {})})
        try:
            return urllib.request.build_opener(_NoRedirect).open(request, timeout=30)
        except urllib.error.HTTPError as error:
            return error

    def events(self, *args: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.vigil.json("changes", *args)
        return found

    def event(self, kind: str) -> dict[str, Any]:
        return next(e for e in self.events() if e["kind"] == kind)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any) -> None:
        return None


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """The replica captured twice: its lead article quietly edited, a related article taken
    down, another moved, a cited report gone; served by `vigil serve` with a token."""
    from crawler.demo.replica import news_site, outside_site, quietly_edit

    vigil = Vigil(tmp_path_factory.mktemp("desk") / "home")
    with SiteServer(outside_site(), host="127.0.0.3") as outside, \
            SiteServer(news_site(outside.base), host="127.0.0.2") as news:
        vigil.run("add", news.url(SEED_PATH), "--name", "herald")
        vigil.crawl()
        next_second()  # the two captures fall in different seconds
        quietly_edit(news.routes, outside.routes, outside.base)
        news.routes[MOVED_TO] = news.routes[RELATED[1]]
        news.routes[RELATED[1]] = Resource(b"", status=301,
                                           headers=[("Location", news.url(MOVED_TO))])
        vigil.crawl()
        vigil.run("add", "http://127.0.0.9/never/", "--name", "unvisited")
        server, port = start_serve(vigil, env={**os.environ, "VIGIL_SERVE_TOKEN": TOKEN})
        try:
            yield Desk(vigil, f"http://127.0.0.1:{port}", news, outside)
        finally:
            server.terminate()
            server.wait(timeout=20)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is installed by make")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def shoot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_the_monitor_found_each_kind_of_change(desk: Desk) -> None:
    kinds = sorted(e["kind"] for e in desk.events())
    assert kinds == ["dead_link", "edited", "moved", "removed"]


def test_api_changes_is_the_json_of_vigil_changes_with_the_same_filters(desk: Desk) -> None:
    edited = desk.event("edited")
    since = desk.events()[0]["detected_at"]
    for query, args in (("", ()), ("?kind=removed", ("--kind", "removed")),
                        (f"?url={desk.news.url(SEED_PATH)}", ("--url", desk.news.url(SEED_PATH))),
                        (f"?since={since}", ("--since", since)),
                        (f"?url={desk.outside.url(OUTSIDE_REPORT)}",
                         ("--url", desk.outside.url(OUTSIDE_REPORT)))):
        reply = desk.get("/api/changes" + query)
        assert reply.status == 200 and reply.headers["Content-Type"] == "application/json"
        assert json.load(reply) == desk.events(*args), query
    herald = json.load(desk.get("/api/changes?source=herald"))
    assert edited in herald and len(herald) == 4
    assert json.load(desk.get("/api/changes?source=unvisited")) == []
    assert desk.get("/api/changes?kind=edit").status == 400
    assert desk.get("/api/changes?since=last+week").status == 400


def test_the_changes_page_lists_every_event_newest_first_each_linking_its_review_page(
        desk: Desk, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(desk.base + "/changes")
    links = page.eval_on_selector_all("ol.changes a.title", "els => els.map(e => "
                                      "e.getAttribute('href'))")
    assert links == [f"/changes/{e['id']}" for e in reversed(desk.events())]
    assert "Residents describe the night the levee gave way" in page.inner_text("ol.changes")
    shoot(page, "changes")
    page.select_option("select[name=kind]", "removed")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"kind=removed"))
    shown = page.eval_on_selector_all("ol.changes a.title", "els => els.map(e => "
                                      "e.getAttribute('href'))")
    assert shown == [f"/changes/{desk.event('removed')['id']}"]
    page.close()


def _frame_text(page: Any, stamp: str, needle: str = "levee") -> str:
    """The text of the replayed page inside the memento frame of this capture, once it
    shows ``needle``."""
    # Up to a minute: on a loaded machine pywb may still be reindexing when the page loads.
    for _ in range(600):
        for frame in page.frames:
            if f"/web/{stamp}" in frame.url and frame.parent_frame is not None and \
                    frame.parent_frame.url.startswith(page.url.split("/changes")[0] + "/web/"):
                try:
                    text: str = frame.evaluate("() => document.body ? document.body.innerText"
                                               " : ''")
                except Exception:  # noqa: BLE001 -- the frame navigated meanwhile: look again
                    continue
                if needle in text:
                    return text
        page.wait_for_timeout(100)
    raise AssertionError(f"no replay frame of {stamp} rendered the page")


def test_the_review_page_of_an_edit_shows_the_word_diff_and_both_captures_side_by_side(
        desk: Desk, browser: Any) -> None:
    event = desk.event("edited")
    url = desk.news.url(SEED_PATH)
    history = desk.vigil.json("history", url)
    before, after = stamp14(history[0]["timestamp"]), stamp14(history[-1]["timestamp"])
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(f"{desk.base}/changes/{event['id']}", wait_until="networkidle")
    assert page.inner_text("h1") == "Residents describe the night the levee gave way"
    assert page.inner_text(".diff del") == "denied"
    assert [t.strip() for t in page.eval_on_selector_all(
        ".diff del, .diff ins", "els => els.map(e => e.tagName + ' ' + e.innerText)")] == [
        "DEL denied", "INS confirmed", "DEL any neighbourhood", "INS two neighbourhoods"]
    folds = page.eval_on_selector_all("details.fold", "els => els.map(e => e.open)")
    assert folds and not any(folds), "unchanged paragraphs are folded"
    assert "Residents of the lower district" not in page.inner_text(".diff"), \
        "a folded paragraph is hidden"
    srcs = page.eval_on_selector_all(".frames iframe", "els => els.map(e => "
                                     "e.getAttribute('src'))")
    assert srcs == [f"/web/{before}/{url}", f"/web/{after}/{url}"]
    links = page.eval_on_selector_all(".frames figcaption a", "els => els.map(e => "
                                      "e.getAttribute('href'))")
    assert links == srcs
    assert "denied that any" in _frame_text(page, before)
    assert "confirmed that two" in _frame_text(page, after)
    page.wait_for_load_state("networkidle")
    shoot(page, "review-edited")
    page.close()
    small = browser.new_page(viewport={"width": 1100, "height": 1000}, device_scale_factor=0.75)
    small.goto(f"{desk.base}/changes/{event['id']}", wait_until="networkidle")
    _frame_text(small, after)
    small.wait_for_load_state("networkidle")
    DOCS_SHOT.parent.mkdir(parents=True, exist_ok=True)
    small.screenshot(path=str(DOCS_SHOT), full_page=True, type="png")
    assert DOCS_SHOT.stat().st_size < 200_000
    small.close()


def test_a_folded_paragraph_opens_from_the_keyboard(desk: Desk, browser: Any) -> None:
    page = browser.new_page()
    page.goto(f"{desk.base}/changes/{desk.event('edited')['id']}")
    page.focus("details.fold summary")
    page.keyboard.press("Enter")
    assert page.eval_on_selector("details.fold", "e => e.open")
    assert "Residents of the lower district" in page.inner_text(".diff")
    page.close()


def test_the_review_page_of_a_removal_names_how_and_the_last_good_memento(
        desk: Desk, browser: Any) -> None:
    event = desk.event("removed")
    first = desk.vigil.json("history", event["url"])[0]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{desk.base}/changes/{event['id']}", wait_until="networkidle")
    text = page.inner_text("main")
    assert "Inspectors flagged cracks a year earlier" in page.inner_text("h1")
    # The removal quotes the notice in the article's place (its heading or its sentence).
    assert "replaced by a notice" in text
    assert "Page not found" in text or "no longer available" in text
    good = f"/web/{stamp14(first['timestamp'])}/{event['url']}"
    assert page.get_attribute("text=Last good memento >> xpath=.. >> a", "href") == good
    assert "maintenance log" in _frame_text(page, stamp14(first["timestamp"]),
                                            "maintenance log")
    shoot(page, "review-removed")
    page.close()


def test_the_review_page_of_a_dead_link_names_the_cited_url_its_failure_and_its_memento(
        desk: Desk, browser: Any) -> None:
    event = desk.event("dead_link")
    cited = desk.outside.url(OUTSIDE_REPORT)
    first = desk.vigil.json("history", cited)[0]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{desk.base}/changes/{event['id']}", wait_until="networkidle")
    facts = page.inner_text("main")
    assert cited in facts and "410 Gone" in facts
    assert page.get_attribute("dt:text('Last archived memento') + dd a", "href") == \
        f"/web/{stamp14(first['timestamp'])}/{cited}"
    assert "Condition rating: poor" in _frame_text(page, stamp14(first["timestamp"]),
                                                   "Condition rating")
    shoot(page, "review-dead-link")
    page.close()


def test_the_review_page_of_a_move_names_the_new_url(desk: Desk, browser: Any) -> None:
    event = desk.event("moved")
    page = browser.new_page()
    page.goto(f"{desk.base}/changes/{event['id']}")
    assert desk.news.url(MOVED_TO) in page.inner_text("main")
    assert page.get_attribute("text=New URL: >> xpath=.. >> a", "href") == \
        desk.news.url(MOVED_TO)
    page.close()


def test_the_timeline_lists_every_capture_linking_its_memento_and_marks_the_events(
        desk: Desk, browser: Any) -> None:
    url = desk.news.url(SEED_PATH)
    history = desk.vigil.json("history", url)
    event = desk.event("edited")
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{desk.base}/web/*/{url}")
    hrefs = page.eval_on_selector_all("table.list td:first-child a",
                                      "els => els.map(e => e.getAttribute('href'))")
    assert sorted(hrefs) == sorted(f"/web/{stamp14(h['timestamp'])}/{url}" for h in history)
    marked = page.eval_on_selector_all("tr.event a[href^='/changes/']",
                                       "els => els.map(e => e.getAttribute('href'))")
    assert sorted(marked) == sorted(f"/changes/{e['id']}" for e in desk.events("--url", url))
    assert f"/changes/{event['id']}" in marked
    assert "200" in page.inner_text("table.list")
    shoot(page, "timeline")
    page.close()
    assert desk.get("/web/*/http://never.example/").status == 404


def test_the_sources_page_shows_each_state_and_links_the_pages_timelines(
        desk: Desk, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{desk.base}/sources")
    rows = page.inner_text("table.list")
    assert "never captured" in rows and "herald" in rows and "4 open" in rows
    page.click("summary:text('pages')")
    hrefs = page.eval_on_selector_all("details a", "els => els.map(e => "
                                      "e.getAttribute('href'))")
    assert f"/web/*/{desk.news.url(SEED_PATH)}" in hrefs
    assert f"/web/*/{desk.news.url(RELATED[0])}" in hrefs
    shoot(page, "sources")
    page.close()


def test_the_feed_over_http_links_each_entry_to_its_review_page(desk: Desk) -> None:
    reply = desk.get("/feed.atom")
    assert reply.headers["Content-Type"].startswith("application/atom+xml")
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = ET.fromstring(reply.read()).findall("a:entry", ns)
    links = [e.find("a:link[@rel='alternate']", ns).get("href") for e in entries]
    assert links == [f"{desk.base}/changes/{e['id']}" for e in reversed(desk.events())]
    titles = [e.find("a:title", ns).text for e in entries]
    assert "edited: Residents describe the night the levee gave way" in titles


def test_every_page_carries_a_content_security_policy(desk: Desk) -> None:
    edited = desk.event("edited")
    for path in ("/changes", f"/changes/{edited['id']}", "/api/changes", "/feed.atom",
                 "/sources", f"/web/*/{desk.news.url(SEED_PATH)}", "/signin", "/desk.css",
                 "/changes?kind=nonsense", "/changes/999999"):
        reply = desk.get(path)
        policy = reply.headers.get("Content-Security-Policy", "")
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy, path


def _session(desk: Desk, browser: Any) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(desk.base + "/changes")
    page.click("text=Sign in")
    page.fill("input[type=password]", TOKEN)
    page.click("button:text('Sign in')")
    page.wait_for_url(desk.base + "/changes")
    return context, page


def test_signed_in_the_desk_adds_a_source_and_marks_an_event_reviewed(
        desk: Desk, browser: Any) -> None:
    context, page = _session(desk, browser)
    cookies = {c["name"]: c for c in context.cookies()}
    assert cookies["vigil_session"]["httpOnly"] and cookies["vigil_session"]["sameSite"] == "Lax"
    assert cookies["vigil_csrf"]["httpOnly"] and cookies["vigil_csrf"]["sameSite"] == "Strict"
    page.goto(desk.base + "/sources")
    page.fill("input[name=url]", "https://example.org/news/added-from-the-desk")
    page.click("button:text('Add source')")
    page.wait_for_url(re.compile(r"/sources\?added="))
    assert "https://example.org/news/added-from-the-desk" in page.inner_text("table.list")
    assert "https://example.org/news/added-from-the-desk" in [
        s["url"] for s in desk.vigil.json("sources")]
    removed = desk.event("removed")
    page.goto(f"{desk.base}/changes/{removed['id']}")
    page.select_option("select[name=significance]", "major")
    page.fill("textarea[name=note]", "Taken down after the county complained.")
    page.click("button:text('Mark reviewed')")
    page.wait_for_url(re.compile(rf"/changes/{removed['id']}\?"))
    box = page.inner_text("section[aria-label=Review]")
    assert "reviewed" in box and "major" in box and "county complained" in box
    shoot(page, "review-marked")
    page.goto(desk.base + "/changes")
    assert page.inner_text(f"li:has(a[href='/changes/{removed['id']}']) .badge.reviewed")
    context.close()


def _counts(desk: Desk) -> tuple[int, int]:
    import sqlite3

    with sqlite3.connect(desk.vigil.home / "vigil.db") as db:
        sources = db.execute("SELECT COUNT(*) FROM sources").fetchone()[0]
        reviews = db.execute("SELECT COUNT(*) FROM reviews").fetchone()[0]
    return sources, reviews


def test_a_write_without_a_session_or_its_csrf_token_is_refused_and_changes_nothing(
        desk: Desk) -> None:
    edited = desk.event("edited")
    before = _counts(desk)
    assert desk.post("/sources", {"url": "https://example.org/sneaky"}).status == 403
    assert desk.post(f"/changes/{edited['id']}/review", {"note": "x"}).status == 403
    assert desk.post("/signin", {"token": TOKEN}).status == 403  # no CSRF cookie nor field
    form = desk.get("/signin")
    cookie = form.headers["Set-Cookie"].split(";")[0]
    csrf = re.search(r"name='csrf' value='([^']+)'", form.read().decode()).group(1)
    wrong = desk.post("/signin", {"token": "guess", "csrf": csrf}, {"Cookie": cookie})
    assert wrong.status == 403 and "vigil_session" not in (wrong.headers["Set-Cookie"] or "")
    signed = desk.post("/signin", {"token": TOKEN, "csrf": csrf, "next": "/sources"},
                       {"Cookie": cookie})
    assert signed.status == 303 and signed.headers["Location"] == "/sources"
    session = signed.headers["Set-Cookie"].split(";")[0]
    both = {"Cookie": f"{cookie}; {session}"}
    assert desk.post("/sources", {"url": "https://example.org/sneaky"}, both).status == 403
    assert desk.post("/sources", {"url": "https://example.org/sneaky", "csrf": "0" * 64},
                     both).status == 403
    elsewhere = {**both, "Origin": "http://evil.example"}
    assert desk.post("/sources", {"url": "https://example.org/sneaky", "csrf": csrf},
                     elsewhere).status == 403
    assert desk.post("//signin", {"token": TOKEN}).status in (403, 404, 405)
    assert _counts(desk) == before
    assert desk.get("/signin?next=//evil.example/").status == 200
    assert "//evil.example" not in desk.get("/signin?next=//evil.example/").read().decode()


def test_without_the_token_writing_is_off_and_every_write_refused(tmp_path: Path) -> None:
    import uvicorn
    from starlette.applications import Starlette

    from crawler.app.home import Home
    from crawler.web.desk import Desk as DeskApp
    from crawler.web.desk_auth import Auth

    vigil = Vigil(tmp_path / "home")
    vigil.run("add", "http://127.0.0.9/a/")
    app = Starlette(routes=DeskApp(Home(vigil.home), auth=Auth(None)).routes)
    port = free_port("127.0.0.1")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(f"http://127.0.0.1:{port}/sources")
        off = Desk(vigil, f"http://127.0.0.1:{port}", None, None)  # type: ignore[arg-type]
        page = off.get("/signin").read().decode()
        assert "Writing from the browser is off" in page and "type='password'" not in page
        assert "type='password'" not in off.get("/sources").read().decode()
        form = off.get("/sources")
        cookie = form.headers["Set-Cookie"].split(";")[0]
        for token in ("", "anything"):
            assert off.post("/signin", {"token": token}, {"Cookie": cookie}).status == 403
        assert off.post("/sources", {"url": "https://example.org/x"}).status == 403
        assert [s["url"] for s in vigil.json("sources")] == ["http://127.0.0.9/a/"]
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_on_a_phone_the_review_page_fits_the_screen(desk: Desk, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page.goto(f"{desk.base}/changes/{desk.event('edited')['id']}", wait_until="networkidle")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    boxes = page.eval_on_selector_all(".frames iframe", "els => els.map(e => "
                                      "e.getBoundingClientRect().width)")
    assert all(w <= 390 for w in boxes)
    history = desk.vigil.json("history", desk.news.url(SEED_PATH))
    _frame_text(page, stamp14(history[-1]["timestamp"]))
    shoot(page, "review-phone")
    page.goto(f"{desk.base}/changes")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    shoot(page, "changes-phone")
    page.close()
