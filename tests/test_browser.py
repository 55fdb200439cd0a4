"""Pages rendered in Chromium: every browser request archived off the wire, the screenshot,
the rendered article compared and replayed, and a browser that never outlives its crawl."""

from __future__ import annotations

import gzip
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from recaptured import CHROMIUM, CHROMIUM_ARGS, needs_chromium, needs_pywb, start_serve
from warcio.archiveiterator import ArchiveIterator

from archive.resources import dom_uri, screenshot_uri
from archive.timeutil import parse_stored
from conftest import FAST, LOOPBACK_SITES, Vigil, next_second
from crawler.demo.replica import LIVE_API, LIVE_PATH, LIVE_STORY, png
from crawler.demo.siteserver import Resource, SiteServer
from spiders.rendering import BrowserMode, client_rendered, wants_rendering

pytestmark = needs_chromium

HEADLINE = "Levee repairs fall behind schedule"
FIRST = "The city said on Monday that repairs to the river levee would not be finished."
EDITED = "The city admitted on Tuesday that the levee repairs had not even begun."

SHELL = b"""<!doctype html><html><head><title>Loading</title>
<link rel="icon" href="/favicon.ico"></head><body>
<div id="app"></div><noscript>Please enable JavaScript to read this article.</noscript>
<script src="/static/app.js"></script></body></html>"""
APP = b"""fetch('/api/article.json').then(r => r.json()).then(a => {
  const root = document.getElementById('app');
  root.innerHTML = '<article><h1></h1><div class=body></div>' +
    '<p><a href="/plain/">Earlier: the levee plan</a></p>' +
    '<div style="height:2600px"></div>' +
    '<img loading="lazy" src="/img/lazy.png" width=80 height=40 alt="the levee"></article>';
  root.querySelector('h1').textContent = a.title;
  for (const text of a.paragraphs) {
    const p = document.createElement('p');
    p.textContent = text;
    root.querySelector('.body').appendChild(p);
  }
  document.title = a.title;
});"""
PLAIN = ("<!doctype html><html><head><title>The levee plan</title></head><body><article>"
         "<h1>The levee plan</h1>" + "<p>The council approved a plan to rebuild the levee "
         "before the spring floods, with money from the state.</p>" * 12 +
         "</article></body></html>").encode()


@dataclass
class Site:
    """The loopback site, with what it got and what it put on the wire."""

    article: dict[str, Any]
    wire: dict[str, list[bytes]] = field(default_factory=dict)  # body bytes as sent
    headers: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # per request

    def routes(self) -> dict[str, Any]:
        return {
            "/app/": self._recorded(Resource(SHELL, gzip=True,
                                             headers=[("Set-Cookie", "edition=river; Path=/")])),
            "/static/app.js": self._recorded(Resource(
                APP, content_type="application/javascript", gzip=True)),
            "/api/article.json": self._api,
            "/img/lazy.png": self._recorded(Resource(png(80, 40, (200, 40, 40)),
                                                     content_type="image/png")),
            "/plain/": self._recorded(Resource(PLAIN)),
            "/favicon.ico": self._recorded(Resource(png(16, 16, (0, 0, 0)),
                                                    content_type="image/x-icon")),
        }

    def _recorded(self, resource: Resource) -> Callable[[BaseHTTPRequestHandler], None]:
        def handler(request: BaseHTTPRequestHandler) -> None:
            self.headers.append((request.path, dict(request.headers.items())))
            request.send_resource(resource)  # type: ignore[attr-defined]
        return handler

    def _api(self, request: BaseHTTPRequestHandler) -> None:
        """The JSON API, gzipped here: the bytes written are the bytes to find stored."""
        self.headers.append((request.path, dict(request.headers.items())))
        body = gzip.compress(json.dumps(self.article).encode(), mtime=0)
        self.wire.setdefault(request.path, []).append(body)
        request.send_response(200)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Encoding", "gzip")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)


@dataclass
class Rendered:
    vigil: Vigil
    site: Site
    url: str
    first: dict[str, Any]
    second: dict[str, Any]

    def records(self) -> list[Any]:
        """(type, target, WARC headers, HTTP headers, body) of every record."""
        found = []
        for warc in self.vigil.warcs:
            with open(warc, "rb") as handle:
                for record in ArchiveIterator(handle):
                    found.append((record.rec_type,
                                  record.rec_headers.get_header("WARC-Target-URI"),
                                  record.rec_headers, record.http_headers,
                                  record.raw_stream.read()))
        return found


def _wait_past_rendering(vigil: Vigil, url: str) -> None:
    """Until the time since the first crawl's last record is well over what rendering took
    then (the page's response to its last record), and two seconds at least."""
    with sqlite3.connect(vigil.home / "vigil.db") as conn:
        page, last = conn.execute(
            "SELECT MIN(timestamp) FILTER (WHERE url = ?), MAX(timestamp) FROM captures",
            [url]).fetchone()
    took = (parse_stored(last) - parse_stored(page or last)).total_seconds()
    until = parse_stored(last).timestamp() + max(2.0, 3 * took + 1)
    while time.time() < until:
        next_second()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rendered]:
    """A script-rendered article crawled twice (its API's text edited in between), then
    its site stopped."""
    vigil = Vigil(tmp_path_factory.mktemp("browser") / "home")
    site = Site({"title": HEADLINE, "paragraphs": [FIRST, "Engineers found more damage."]})
    with SiteServer(site.routes(), host="127.0.0.7") as server:
        url = server.url("/app/")
        vigil.run("add", url, "--depth", "1")
        first = vigil.crawl()
        site.article = {**site.article, "paragraphs": [EDITED, "Engineers found more damage."]}
        # Replay finds the page's API answer by the 14-digit time of the page: the second
        # crawl's answer comes as long after its page as the browser takes to render it,
        # so the crawls are further apart than that (the first crawl's answer was nearer
        # on a loaded machine, with a fixed two seconds between them).
        _wait_past_rendering(vigil, url)
        second = vigil.crawl()
    yield Rendered(vigil, site, url, first, second)


# -- when a page is rendered ------------------------------------------------------------
def test_an_empty_app_root_a_noscript_notice_and_thin_text_with_heavy_scripts_are_rendered(
        ) -> None:
    assert client_rendered(SHELL) == "an empty app root"
    assert client_rendered(b"<body><div id=content></div><noscript><p>You need to enable "
                           b"JavaScript to run this app.</p></noscript></body>")
    bundle = b"<body><p>Loading</p><script>" + b"x=1;" * 6000 + b"</script></body>"
    assert client_rendered(bundle) is not None
    assert client_rendered(PLAIN) is None
    assert client_rendered(b"<body><div id='app'><h1>Served whole</h1></div></body>") is None


def test_auto_renders_none_of_the_corpus_real_articles_served_whole() -> None:
    # The corpus lives with the benchmarks, which are not an installed package.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench.corpus import load

    pages = load()
    rendered = [p.url for p in pages if client_rendered(
        p.html if isinstance(p.html, bytes) else p.html.encode())]
    assert len(pages) > 100 and rendered == []


def test_always_and_never_override_what_the_html_looks_like() -> None:
    assert wants_rendering(BrowserMode.ALWAYS, PLAIN)
    assert not wants_rendering(BrowserMode.NEVER, SHELL)
    assert wants_rendering(BrowserMode.AUTO, SHELL) and not wants_rendering("auto", PLAIN)


# -- what is archived ---------------------------------------------------------------------
def test_the_api_response_is_stored_as_its_gzip_bytes_came_off_the_wire(
        rendered: Rendered) -> None:
    api = rendered.url.replace("/app/", "/api/article.json")
    stored = [(http, body) for kind, target, _w, http, body in rendered.records()
              if kind == "response" and target == api]
    assert [body for _http, body in stored] == rendered.site.wire["/api/article.json"]
    assert all(http.get_header("Content-Encoding") == "gzip" for http, _body in stored)
    assert json.loads(gzip.decompress(stored[-1][1]))["paragraphs"][0] == EDITED


def test_every_browser_request_is_one_archived_response_with_the_crawls_user_agent(
        rendered: Rendered) -> None:
    seen = [(path, h) for path, h in rendered.site.headers]
    agents = {h.get("User-Agent", "") for _path, h in seen}
    assert len(agents) == 1 and agents.pop().startswith("vigil/"), "Chromium spoke for itself"
    assert not [p for p, h in seen if "zstd" in h.get("Accept-Encoding", "") or
                "br" in h.get("Accept-Encoding", "")]
    responses = [target for kind, target, *_rest in rendered.records()
                 if kind in ("response", "revisit")]
    base = rendered.url.removesuffix("/app/")
    # Counted per request, not per URL: a request that went around vigil (Chromium fetches
    # a page's icon without asking page.route) would be one more than the records.
    for path in {p for p, _h in seen}:
        asked = [p for p, _h in seen if p == path]
        assert len(asked) == responses.count(base + path) == 2, path
    assert {"/static/app.js", "/api/article.json", "/img/lazy.png", "/favicon.ico"} <= \
        {p for p, _h in seen}


def test_the_pages_cookie_reaches_the_api_request(rendered: Rendered) -> None:
    cookies = [h.get("Cookie", "") for p, h in rendered.site.headers if p == "/api/article.json"]
    assert cookies and all("edition=river" in c for c in cookies)


def test_the_screenshot_is_a_png_resource_concurrent_to_the_pages_response(
        rendered: Rendered) -> None:
    records = rendered.records()
    pages = {w.get_header("WARC-Record-ID") for kind, target, w, _h, _b in records
             if kind in ("response", "revisit") and target == rendered.url}
    shots = [(w, body) for kind, target, w, _h, body in records
             if kind == "resource" and target == screenshot_uri(rendered.url)]
    assert len(shots) == 2
    for warc, body in shots:
        assert warc.get_header("Content-Type") == "image/png"
        assert warc.get_header("WARC-Concurrent-To") in pages
        assert body.startswith(b"\x89PNG\r\n\x1a\n")


def test_vigil_get_screenshot_writes_the_pages_png(rendered: Rendered, tmp_path: Path) -> None:
    out = tmp_path / "page.png"
    rendered.vigil.run("get", rendered.url, "--screenshot", "-o", str(out))
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width == 1280 and height > 2600, "not the full page"
    first = tmp_path / "first.png"
    rendered.vigil.run("get", rendered.url, "--screenshot", "--at", rendered.first["started_at"],
                       "-o", str(first))
    assert first.read_bytes().startswith(b"\x89PNG") and first.read_bytes() != data, \
        "--at did not choose the first crawl's screenshot"
    missing = rendered.vigil.run("get", rendered.url.replace("/app/", "/plain/"),
                                 "--screenshot", "-o", str(tmp_path / "no.png"), ok=False)
    assert missing.returncode != 0, "auto rendered the plain article"


def test_the_screenshot_is_verified_with_the_home_and_exported_in_the_signed_wacz(
        rendered: Rendered, tmp_path: Path) -> None:
    import zipfile

    rendered.vigil.run("verify")
    package = tmp_path / "rendered.wacz"
    rendered.vigil.run("export", "--wacz", str(package), "--source", rendered.url)
    rendered.vigil.run("verify", "--wacz", str(package))
    with zipfile.ZipFile(package) as wacz:
        warcs = [n for n in wacz.namelist() if n.endswith(".warc.gz")]
        targets = []
        for name in warcs:
            with wacz.open(name) as handle:
                targets += [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI"))
                            for r in ArchiveIterator(handle)]
    assert ("resource", screenshot_uri(rendered.url)) in targets
    assert ("resource", dom_uri(rendered.url)) in targets


def test_the_plain_article_is_fetched_plainly_under_auto(rendered: Rendered) -> None:
    plain = rendered.url.replace("/app/", "/plain/")
    assert [p for p, _h in rendered.site.headers].count("/plain/") == 2  # followed, each crawl
    targets = [target for kind, target, *_rest in rendered.records() if kind == "resource"]
    assert screenshot_uri(plain) not in targets
    assert all(t.endswith("/app/") for t in targets)


def test_an_edit_of_the_apis_text_is_an_edited_event_though_the_shell_is_unchanged(
        rendered: Rendered) -> None:
    assert rendered.first["events"] == []
    edited = [e for e in rendered.second["events"] if e["kind"] == "edited"]
    assert [e["url"] for e in edited] == [rendered.url]
    assert "Tuesday" in json.dumps(edited[0]["details"])
    shells = [kind for kind, target, *_rest in rendered.records() if target == rendered.url
              and kind in ("response", "revisit")]
    assert shells == ["response", "revisit"], "the shell was not the same bytes"


@needs_pywb
def test_the_rendered_article_replays_in_chromium_with_the_site_gone(
        rendered: Rendered) -> None:
    from playwright.sync_api import sync_playwright

    server, port = start_serve(rendered.vigil)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                 args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{port}/timegate/{rendered.url}",
                          wait_until="networkidle")
                replayed = page.frame_locator("iframe").first
                replayed.locator("article h1").wait_for(timeout=30_000)
                text = replayed.locator("body").inner_text()
            finally:
                browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
    assert HEADLINE in text and EDITED in text


@needs_pywb
def test_the_review_page_of_a_rendered_edit_shows_both_screenshots(
        rendered: Rendered, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    [edited] = [e for e in rendered.second["events"] if e["kind"] == "edited"]
    server, port = start_serve(rendered.vigil)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                 args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(f"http://127.0.0.1:{port}/changes/{edited['id']}",
                          wait_until="networkidle")
                shots = page.locator(".shots img")
                assert shots.count() == 2
                # Both pictures loaded, as the browser drew each crawl's page.
                sizes = page.eval_on_selector_all(
                    ".shots img", "els => els.map(e => [e.complete, e.naturalWidth])")
                sources = page.eval_on_selector_all(".shots img", "els => els.map(e => e.src)")
                page.locator(".shots").screenshot(path=str(tmp_path / "shots.png"))
            finally:
                browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
    assert sizes == [[True, 1280], [True, 1280]]
    assert len(set(sources)) == 2


# -- bounded ----------------------------------------------------------------------------
HANG = b"""<html><body><div id="app"></div>
<script>setTimeout(() => { for (;;) {} }, 50);</script></body></html>"""
BUSY = b"""<html><body><div id="app"></div><script>
setInterval(() => fetch('/tick?' + Date.now()), 150);
document.getElementById('app').innerHTML = '<h1>Ticking</h1>';</script></body></html>"""
POPUP = b"""<html><body><div id="app"></div>
<script>window.open('/plain/', '_blank');</script></body></html>"""
SLOW = b"""<html><body><div id="app"></div><script>
document.getElementById('app').innerHTML = '<h1>Drawn before the image came</h1>';
</script><img src="/slow.png" width=10 height=10 alt=""></body></html>"""
GREEDY = b"""<html><body><div id="app"></div><script>
const kept = [];
setInterval(() => { for (let i = 0; i < 200000; i++) kept.push({i, s: 'x' + i}); }, 5);
</script></body></html>"""


def test_a_page_that_hangs_crashes_or_opens_a_popup_fails_one_that_never_settles_is_taken(
        tmp_path: Path) -> None:
    vigil = Vigil(tmp_path / "home")
    routes = {"/hang/": Resource(HANG), "/busy/": Resource(BUSY), "/popup/": Resource(POPUP),
              "/tick": Resource(b"{}", content_type="application/json"),
              "/plain/": Resource(PLAIN), "/greedy/": Resource(GREEDY),
              "/slow/": Resource(SLOW), "/slow.png": _late(png(10, 10, (0, 0, 0)), 8.0)}
    pages = ("/hang/", "/busy/", "/popup/", "/greedy/", "/slow/")
    with SiteServer(routes, host="127.0.0.8") as server:
        vigil.run("add", *(server.url(p) for p in pages), "--depth", "0")
        started = time.monotonic()
        summary = vigil.crawl("-s", "BROWSER_PAGE_SECONDS=6", "-s", "BROWSER_SETTLE_SECONDS=1",
                              "-s", "BROWSER_MAX_MEMORY_MB=32")
        took = time.monotonic() - started
    assert summary["status"] == "finished"
    assert took < 40, f"the crawl took {took:.0f} s"
    failures = {f["url"]: f for f in _failures(vigil)}
    assert failures[f"urn:render:{server.url('/hang/')}"]["message"].startswith("timeout")
    assert failures[f"urn:render:{server.url('/popup/')}"]["message"].startswith("popup")
    assert f"urn:render:{server.url('/busy/')}" not in failures
    assert f"urn:render:{server.url('/slow/')}" not in failures, "a slow load is not a hang"
    slow = next(body for kind, target, _w, _h, body in _records(vigil)
                if kind == "resource" and target == dom_uri(server.url("/slow/")))
    assert b"Drawn before the image came" in slow
    assert failures[f"urn:render:{server.url('/greedy/')}"]["message"].startswith("crashed")
    out = vigil.home / "busy.png"
    vigil.run("get", server.url("/busy/"), "--screenshot", "-o", str(out))
    assert out.read_bytes().startswith(b"\x89PNG")


def _late(body: bytes, seconds: float) -> Callable[[BaseHTTPRequestHandler], None]:
    """A response that comes ``seconds`` late: a host slower than the page's time."""
    def handler(request: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        request.send_resource(Resource(body, content_type="image/png"))  # type: ignore[attr-defined]
    return handler


def _failures(vigil: Vigil) -> list[dict[str, Any]]:
    import sqlite3

    conn = sqlite3.connect(vigil.home / "vigil.db")
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM failures")]
    finally:
        conn.close()


def _chromiums() -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "exe").resolve() == Path("/usr/lib/chromium/chromium"):
                    found.add(int(entry.name))
            except OSError:
                continue
    return found


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _until(condition: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"waited {seconds:g} s for {what}")


@pytest.mark.parametrize("kill", ["crawl", "crawl and its process group"])
def test_the_browser_dies_with_a_crawl_killed_with_sigkill(tmp_path: Path, kill: str) -> None:
    vigil = Vigil(tmp_path / "home")
    with SiteServer({"/busy/": Resource(BUSY),
                     "/tick": Resource(b"{}", content_type="application/json")},
                    host="127.0.0.8") as server:
        vigil.run("add", server.url("/busy/"), "--depth", "0")
        crawl = subprocess.Popen(
            [sys.executable, "-m", "crawler.cli", "--home", str(vigil.home), "crawl", *FAST,
             *LOOPBACK_SITES, "-s", "BROWSER_SETTLE_SECONDS=120",
             "-s", "BROWSER_PAGE_SECONDS=200"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            ours = _until(lambda: _descendants(crawl.pid) & _chromiums(), 60,
                          "Chromium to start")
            _until(lambda: any(p.startswith("/tick") for p in server.requests), 30,
                   "the page to poll")
            if kill == "crawl":
                os.kill(crawl.pid, signal.SIGKILL)
            else:
                os.killpg(crawl.pid, signal.SIGKILL)
            crawl.wait(timeout=10)
            _until(lambda: not (ours & _chromiums()), 20, "Chromium to exit")
        finally:
            if crawl.poll() is None:
                crawl.kill()


def test_the_demos_live_article_is_rendered_with_its_story_and_screenshot(
        news: SiteServer, tmp_path: Path) -> None:
    vigil = Vigil(tmp_path / "home")
    url = news.url(LIVE_PATH)
    vigil.run("add", url, "--depth", "0")
    summary = vigil.crawl()
    assert summary["status"] == "finished"
    assert news.url(LIVE_API) in [target for kind, target, *_r in _records(vigil)
                                  if kind == "response"]
    dom = next(body for kind, target, _w, _h, body in _records(vigil)
               if kind == "resource" and target == dom_uri(url))
    assert LIVE_STORY["headline"].encode() in dom and b"Sandbag lines" in dom
    out = tmp_path / "live.png"
    vigil.run("get", url, "--screenshot", "-o", str(out))
    assert out.read_bytes().startswith(b"\x89PNG")


def _records(vigil: Vigil) -> list[Any]:
    return Rendered(vigil, Site({}), "", {}, {}).records()


def _policy_page(other: str) -> bytes:
    return (b"""<html><body><div id="app"></div><script>
Promise.allSettled([fetch('/private/secret.json'), fetch('""" + other.encode() +
            b"""/other.json', {mode: 'no-cors'}), fetch('/moved.json').then(r => r.json())])
  .then(([secret, elsewhere, moved]) => {
    document.getElementById('app').innerHTML = '<h1>' +
      (moved.status === 'fulfilled' ? moved.value.text : 'not followed') + '</h1>';
  });
</script></body></html>""")


def test_robots_the_destination_policy_and_redirects_hold_for_the_browsers_requests(
        tmp_path: Path) -> None:
    vigil = Vigil(tmp_path / "home")
    with SiteServer({"/other.json": Resource(b"{}", content_type="application/json")},
                    host="127.0.0.10") as other:
        routes = {
            "/robots.txt": Resource(b"User-agent: *\nDisallow: /private/\n",
                                    content_type="text/plain"),
            "/policy/": Resource(_policy_page(other.base)),
            "/private/secret.json": Resource(b"{}", content_type="application/json"),
            "/moved.json": Resource(b"", status=301, headers=[("Location", "/final.json")]),
            "/final.json": Resource(b'{"text": "Followed to the end"}',
                                    content_type="application/json"),
        }
        with SiteServer(routes, host="127.0.0.8") as server:
            vigil.run("add", server.url("/policy/"), "--depth", "0")
            # No CRAWL_ALLOW_NETWORKS: the source's own host and port, and public addresses.
            vigil.json("crawl", *FAST)
            served = list(server.requests)
        assert other.requests == [], "the browser reached a destination the crawl refuses"
    assert "/private/secret.json" not in served
    failures = {f["url"]: f["error"] for f in _failures(vigil)}
    assert failures[server.url("/private/secret.json")] == "RobotsTxtDisallowed"
    assert failures[f"{other.base}/other.json"] == "destination-refused"
    records = [(kind, target, http.get_statuscode() if http else None)
               for kind, target, _w, http, _b in _records(vigil) if kind == "response"]
    assert ("response", server.url("/moved.json"), "301") in records
    assert ("response", server.url("/final.json"), "200") in records
    dom = next(body for kind, target, _w, _h, body in _records(vigil)
               if kind == "resource" and target == dom_uri(server.url("/policy/")))
    assert b"Followed to the end" in dom


def test_without_chromium_a_page_to_render_is_a_failure_row_and_its_links_are_followed(
        tmp_path: Path) -> None:
    vigil = Vigil(tmp_path / "home")
    shell = SHELL.replace(b"</body>", b'<a href="/plain/">the plan</a></body>')
    with SiteServer({"/app/": Resource(shell), "/plain/": Resource(PLAIN)},
                    host="127.0.0.8") as server:
        vigil.run("add", server.url("/app/"))
        summary = vigil.crawl("-s", "BROWSER_EXECUTABLE=/nonexistent/chromium")
        assert "/plain/" in server.requests
    assert summary["status"] == "finished"
    failures = {f["url"]: f["message"] for f in _failures(vigil)}
    assert failures[f"urn:render:{server.url('/app/')}"].startswith("no-browser")


def test_reindex_finds_a_rendered_pages_screenshot_and_dom_again(rendered: Rendered,
                                                                 tmp_path: Path) -> None:
    import shutil
    import sqlite3

    copy = Vigil(tmp_path / "home")
    shutil.copytree(rendered.vigil.home, copy.home)
    with sqlite3.connect(copy.home / "vigil.db") as conn:
        # Counted first: a delete through the captures view reports no changed rows.
        (lost,) = conn.execute("SELECT COUNT(*) FROM captures WHERE url LIKE 'urn:%'").fetchone()
        conn.execute("DELETE FROM captures WHERE url LIKE 'urn:%'")
    assert lost >= 4  # two crawls, a screenshot and a DOM each
    assert copy.json("reindex")["added"] == lost
    out = tmp_path / "page.png"
    copy.run("get", rendered.url, "--screenshot", "-o", str(out))
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
