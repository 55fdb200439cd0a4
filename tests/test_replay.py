"""Every capture replays and every citation is complete: 304 recaptures and identical
payloads in pywb (Chromium) and ReplayWeb.page, archive-style lookups, the server's guard."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from conftest import Vigil, free_port, stamp14
from crawler.demo.siteserver import Resource, SiteServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
WAYBACK = Path(__file__).resolve().parent.parent / ".venv-pywb" / "bin" / "wayback"
needs_pywb = pytest.mark.skipif(not WAYBACK.exists(), reason="make install puts pywb there")
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium: make")

ARTICLE = "/2026/11/20/levee-inquiry/"
REMOVED = "/2026/11/19/pump-station-report/"
STYLESHEET = "/static/site.css"
ETAG = '"levee-1"'
HEADLINE = "Inquiry finds the levee warnings went unheeded"
ARTICLE_HTML = f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<title>{HEADLINE} | Riverside Herald</title>
<meta property="og:site_name" content="Riverside Herald">
<meta property="article:published_time" content="2026-11-20T08:15:00Z">
<link rel="stylesheet" href="{STYLESHEET}">
<script type="application/ld+json">{{"@context": "https://schema.org",
 "@type": "NewsArticle", "headline": "{HEADLINE}", "datePublished": "2026-11-20T08:15:00Z",
 "author": [{{"@type": "Person", "name": "Ada Brook"}},
            {{"@type": "Person", "name": "Tomás van der Berg"}}],
 "publisher": {{"@type": "Organization", "name": "Riverside Herald"}}}}</script>
</head><body><header class="masthead">Riverside Herald</header><article>
<h1>{HEADLINE}</h1><p class="byline">By Ada Brook and Tomás van der Berg</p>
<p>The independent inquiry into the November flood found that three written warnings
about the east levee reached the council in the spring and were filed without action.</p>
<p>Engineers had measured seepage at the base of the embankment on four occasions, the
report says, and recommended that the pumps at the station be replaced before winter.</p>
<p>Read the <a href="{REMOVED}">pump station report</a> the inquiry relied on.</p>
</article></body></html>""".encode()
REMOVED_HTML = b"""<!DOCTYPE html><html><head><meta charset="utf-8">
<title>Pump station failed its last two inspections</title>
<meta name="author" content="Carl Doe">
<meta name="citation_publication_date" content="2026/11/19">
</head><body><article><h1>Pump station failed its last two inspections</h1>
<p>Inspectors found the pumps at the east station unable to run at full load in both of
the inspections held this year, according to records seen by the Herald.</p>
<p>The council said repairs were scheduled but gave no date for them.</p>
</article></body></html>"""
NOTICE_HTML = b"""<!DOCTYPE html><html><head><title>Page not found</title></head><body>
<h1>Page not found</h1><p>Sorry, this article is no longer available.</p></body></html>"""


def article(handler: BaseHTTPRequestHandler) -> None:
    """The article, answering 304 to a request that carries its ETag."""
    if handler.headers.get("If-None-Match") == ETAG:
        handler.send_response(304)
        handler.send_header("ETag", ETAG)
        handler.end_headers()
        return
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html; charset=utf-8")
    handler.send_header("ETag", ETAG)
    handler.send_header("Content-Length", str(len(ARTICLE_HTML)))
    handler.end_headers()
    handler.wfile.write(ARTICLE_HTML)


@dataclass
class Archive:
    vigil: Vigil
    site: SiteServer
    base: str
    replay: str
    server: subprocess.Popen[bytes]

    def url(self, path: str) -> str:
        return self.site.url(path)

    def get(self, path: str, headers: dict[str, str] | None = None,
            base: str | None = None) -> Any:
        request = urllib.request.Request((base or self.base) + path, headers=headers or {})
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            return opener.open(request, timeout=20)
        except urllib.error.HTTPError as error:
            return error


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any) -> None:
        return None


def wait_for(url: str) -> None:
    for _ in range(300):
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered")


def start_serve(vigil: Vigil, *extra: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port("127.0.0.1")
    while free_port("127.0.0.1") == port + 1:
        port = free_port("127.0.0.1")
    server = subprocess.Popen([sys.executable, "-m", "crawler.cli", "--home", str(vigil.home),
                               "serve", "--port", str(port), *extra],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(f"http://127.0.0.1:{port}/")
    if WAYBACK.exists():
        wait_for(f"http://127.0.0.1:{port + 1}/static/wombat.js")
    return server, port


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    """The article captured, then recaptured with a 304 (its stylesheet as an identical
    payload) after the article it links to was replaced by a removal notice."""
    vigil = Vigil(tmp_path_factory.mktemp("replay") / "home")
    routes: dict[str, Any] = {
        ARTICLE: article, REMOVED: Resource(REMOVED_HTML),
        STYLESHEET: Resource(b"article { font-family: 'Herald Serif', serif }",
                             content_type="text/css")}
    with SiteServer(routes, host="127.0.0.2") as site:
        vigil.run("add", site.url(ARTICLE))
        vigil.crawl()
        time.sleep(1.1)  # the two captures fall in different seconds
        routes[REMOVED] = Resource(NOTICE_HTML)
        vigil.crawl()
        server, port = start_serve(vigil)
        try:
            yield Archive(vigil, site, f"http://127.0.0.1:{port}",
                          f"http://127.0.0.1:{port + 1}", server)
        finally:
            server.terminate()
            server.wait(timeout=20)


def test_the_recapture_is_a_304_revisit_and_the_stylesheet_an_identical_payload(
        archive: Archive) -> None:
    first, again = archive.vigil.json("history", archive.url(ARTICLE))
    assert (first["status"], again["status"], again["revisit"]) == (200, 304, True)
    css = archive.vigil.json("history", archive.url(STYLESHEET))
    assert [(c["status"], c["revisit"]) for c in css] == [(200, False), (200, True)]


@needs_pywb
def test_pywb_replays_the_304_and_the_identical_revisit_with_their_content(
        archive: Archive) -> None:
    for path, body in ((ARTICLE, ARTICLE_HTML), (STYLESHEET, b"Herald Serif")):
        latest = archive.vigil.json("history", archive.url(path))[-1]
        stamp = stamp14(latest["timestamp"])
        reply = archive.get(f"/web/{stamp}id_/{archive.url(path)}", base=archive.replay)
        assert reply.status == 200, path
        assert body in reply.read(), path


@needs_pywb
@needs_chromium
def test_the_timegates_latest_memento_of_a_304_recapture_shows_the_article_in_chromium(
        archive: Archive) -> None:
    from playwright.sync_api import sync_playwright

    url = archive.url(ARTICLE)
    latest = archive.vigil.json("history", url)[-1]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{archive.base}/timegate/{url}", wait_until="networkidle")
            assert f"/web/{stamp14(latest['timestamp'])}/" in page.url
            frame = next(f for f in page.frames if f != page.main_frame)
            frame.wait_for_load_state("networkidle")
            text = frame.evaluate("() => document.body ? document.body.innerText : ''")
            font = frame.evaluate("() => getComputedStyle(document.querySelector('article'))"
                                  ".fontFamily")
        finally:
            browser.close()
    assert HEADLINE in text and "three written warnings" in text
    assert "Herald Serif" in font, "the identical-payload stylesheet did not replay"


def test_get_diff_and_the_id_memento_treat_the_304_as_the_content_it_refers_to(
        archive: Archive) -> None:
    url = archive.url(ARTICLE)
    _, again = archive.vigil.json("history", url)
    assert archive.vigil.get(url, "--at", again["datetime"]) == ARTICLE_HTML
    stamp = stamp14(again["timestamp"])
    assert archive.get(f"/web/{stamp}id_/{url}").read() == ARTICLE_HTML
    timemap = json.load(archive.get(f"/timemap/json/{url}"))
    assert [m["payload_status"] for m in timemap["mementos"]["list"]] == [200, 200]


@pytest.mark.xfail(strict=True, reason="crawler/cli/monitor.py's diff counts a 304 as no "
                   "2xx capture: it should filter on payload_status (reported)")
def test_diff_between_a_capture_and_its_304_says_no_change(archive: Archive) -> None:
    url = archive.url(ARTICLE)
    first, again = archive.vigil.json("history", url)
    result = archive.vigil.run("diff", url, "--from", first["datetime"], "--to",
                               again["datetime"])
    assert b"no change" in result.stdout
    assert again["timestamp"].encode() in result.stdout


def test_partial_timestamps_and_the_bare_url_redirect_to_the_nearest_memento(
        archive: Archive) -> None:
    url = archive.url(ARTICLE)
    first, again = archive.vigil.json("history", url)
    year = first["timestamp"][:4]
    for asked, expected in ((year, first), (year + "0", first), (year + "12319", again),
                            (stamp14(first["timestamp"])[:8], first)):
        reply = archive.get(f"/web/{asked}/{url}")
        assert reply.status == 302, asked
        assert reply.headers["Location"] == f"/web/{stamp14(expected['timestamp'])}/{url}"
    latest = archive.get(f"/web/{url}")
    assert latest.status == 302
    assert latest.headers["Location"] == f"/web/{stamp14(again['timestamp'])}/{url}"
    assert archive.get(f"/web/{year}id_/{url}").headers["Location"] == \
        f"/web/{stamp14(first['timestamp'])}id_/{url}"
    assert archive.get(f"/web/123/{url}").status == 400
    assert archive.get(f"/web/202611211830461/{url}").status == 400


def test_a_url_is_found_without_its_trailing_slash_with_www_or_another_scheme(
        archive: Archive) -> None:
    url = archive.url(ARTICLE)
    host = url.split("//", 1)[1].split("/", 1)[0]
    assert host.startswith("127.0.0.2:")
    exact = archive.vigil.json("history", url)
    for variant in (url.rstrip("/"), url.replace("http://", "https://"),
                    url.replace("http://", "https://").rstrip("/"),
                    url.replace(host, host.upper().replace("127", "127"))):
        assert [h["datetime"] for h in archive.vigil.json("history", variant)] == \
            [h["datetime"] for h in exact], variant
        assert archive.vigil.get(variant) == ARTICLE_HTML
        assert HEADLINE.encode() in archive.vigil.run("cite", variant).stdout
        reply = archive.get(f"/web/{variant}")
        assert reply.headers["Location"] == f"/web/{stamp14(exact[-1]['timestamp'])}/{url}"
        timemap = json.load(archive.get(f"/timemap/json/{variant}"))
        assert timemap["original_uri"] == url
        assert archive.get(f"/timegate/{variant}").status == 302
    # The exact URL wins over a variant when both were captured.
    stylesheet = archive.url(STYLESHEET)
    assert archive.vigil.json("history", stylesheet + "/") == \
        archive.vigil.json("history", stylesheet)


def test_history_json_lists_failed_fetches_with_their_reason(archive: Archive,
                                                             tmp_path: Path) -> None:
    vigil = Vigil(tmp_path / "failing")
    dead = f"http://127.0.0.2:{free_port('127.0.0.2')}/gone/"
    vigil.run("add", dead)
    vigil.run("crawl", "-s", "DOWNLOAD_TIMEOUT=5", "-s", "RETRY_ENABLED=False", ok=False)
    [entry] = vigil.json("history", dead)
    assert entry["failed"] is True and entry["url"] == dead
    assert entry["error"] and entry["reason"]
    assert all(e["failed"] is False for e in archive.vigil.json("history",
                                                                archive.url(ARTICLE)))


def test_the_home_page_lists_captured_pages_and_each_urls_captures(archive: Archive) -> None:
    home = archive.get("/").read().decode()
    assert archive.url(ARTICLE) in home and archive.url(REMOVED) in home
    url = archive.url(ARTICLE)
    listing = archive.get(f"/captures/{url}")
    assert listing.headers["Content-Type"].startswith("text/html")
    text = listing.read().decode()
    for entry in archive.vigil.json("history", url):
        assert f"/web/{stamp14(entry['timestamp'])}/{url}" in text


def test_a_citation_names_the_pages_authors_date_and_site(archive: Archive) -> None:
    url = archive.url(ARTICLE)
    latest = archive.vigil.json("history", url)[-1]
    stamp = stamp14(latest["timestamp"])
    styles = {style: archive.vigil.run("cite", url, "--style", style, "--server",
                                       "http://archive.example").stdout.decode()
              for style in ("apa", "mla", "chicago", "bibtex")}
    assert styles["apa"].startswith(f"Brook, A., & van der Berg, T. (2026, November 20). "
                                    f"{HEADLINE}. Riverside Herald. Retrieved ")
    assert styles["mla"].startswith(f"Brook, Ada, and Tomás van der Berg. “{HEADLINE}.” "
                                    "Riverside Herald, 20 Nov. 2026, ")
    assert styles["chicago"].startswith(f"Brook, Ada, and Tomás van der Berg. “{HEADLINE}.” "
                                        "Riverside Herald, November 20, 2026. ")
    assert "author = {Brook, Ada and van der Berg, Tomás}" in styles["bibtex"]
    assert "date = {2026-11-20}" in styles["bibtex"]
    for text in styles.values():
        assert f"http://archive.example/web/{stamp}/{url}" in text
        assert "127.0.0.2." not in text.split("Retrieved")[0]  # no host as the publisher


def test_cite_without_a_time_cites_the_removed_pages_article_and_says_it_was_removed(
        archive: Archive) -> None:
    url = archive.url(REMOVED)
    first, notice = archive.vigil.json("history", url)
    result = archive.vigil.run("cite", url, "--style", "apa").stdout.decode()
    assert "Doe, C. (2026, November 19). Pump station failed its last two inspections." \
        in result
    assert f"/web/{stamp14(first['timestamp'])}/{url}" in result
    assert "Page not found" not in result
    assert "removed" in result and notice["timestamp"][:16] in result


# -- the server's guard ----------------------------------------------------------------
def test_a_foreign_host_header_gets_400_and_no_archive_content(archive: Archive) -> None:
    url = archive.url(ARTICLE)
    for path in ("/", f"/timemap/json/{url}", f"/web/{url}", f"/captures/{url}"):
        reply = archive.get(path, {"Host": "rebound.attacker.example"})
        assert reply.status == 400, path
        assert url.encode() not in reply.read()
    stamp = stamp14(archive.vigil.json("history", url)[0]["timestamp"])
    reply = archive.get(f"/web/{stamp}id_/{url}", {"Host": "rebound.attacker.example:8080"},
                        base=archive.replay)
    assert reply.status == 400 and HEADLINE.encode() not in reply.read()
    for name in ("localhost", "127.0.0.1", "[::1]"):
        assert archive.get("/", {"Host": name}).status == 200, name


def test_the_host_header_is_never_reflected_into_location_link_or_csp(
        archive: Archive) -> None:
    url = archive.url(ARTICLE)
    stamp = stamp14(archive.vigil.json("history", url)[0]["timestamp"])
    for path in (f"/web/{url}", f"/timegate/{url}", f"/web/{stamp}/{url}"):
        reply = archive.get(path, {"Host": "localhost.localhost"})
        for header in ("Location", "Link", "Content-Security-Policy"):
            assert "localhost.localhost" not in (reply.headers.get(header) or ""), path
        assert "localhost.localhost" not in reply.read().decode(), path


def test_every_app_page_has_a_content_security_policy(archive: Archive) -> None:
    url = archive.url(ARTICLE)
    stamp = stamp14(archive.vigil.json("history", url)[0]["timestamp"])
    for path in ("/", f"/captures/{url}", f"/timemap/json/{url}", f"/timemap/link/{url}",
                 f"/web/{stamp}/{url}", f"/web/{stamp}id_/{url}", "/timegate/http://x.example/",
                 "/web/2026-11-21/x", "/no/such/page"):
        policy = archive.get(path).headers.get("Content-Security-Policy") or ""
        assert "default-src 'none'" in policy or policy == "sandbox", path
        assert "script-src" not in policy, path


@needs_pywb
def test_the_replay_origin_answers_mementos_only_never_pywbs_cdx_api(
        archive: Archive) -> None:
    url = archive.url(ARTICLE)
    for path in (f"/web/cdx?url={url}", f"/web/cdx?url={url}&output=json", "/web/",
                 f"/web/timemap/link/{url}", "/collinfo.json", "/", f"/web/*/{url}"):
        reply = archive.get(path, base=archive.replay)
        assert reply.status == 404, path
        assert url.encode() not in reply.read(), path


@needs_pywb
def test_sigterm_stops_serve_and_its_replay_child(archive: Archive) -> None:
    server, port = start_serve(archive.vigil)
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    assert children, "serve started no replay child"
    replay = f"http://127.0.0.1:{port + 1}/static/wombat.js"
    urllib.request.urlopen(replay, timeout=5).close()
    os.kill(server.pid, signal.SIGTERM)
    assert server.wait(timeout=30) != -signal.SIGKILL
    for pid in children:
        for _ in range(300):
            if not Path(f"/proc/{pid}").exists() or \
                    Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"the replay child {pid} outlived serve")
    with pytest.raises(OSError):
        urllib.request.urlopen(replay, timeout=5).close()
