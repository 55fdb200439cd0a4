"""Every capture replays and every citation is complete: 304 recaptures and identical
payloads in pywb (Chromium), archive-style lookups, citations, the server's guard."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from recaptured import (
    ARTICLE,
    ARTICLE_HTML,
    CHROMIUM,
    CHROMIUM_ARGS,
    HEADLINE,
    REMOVED,
    STYLESHEET,
    needs_chromium,
    needs_pywb,
    recaptured,
    start_serve,
)

from archive.timeutil import parse_stored
from conftest import Vigil, free_port, stamp14
from crawler.demo.siteserver import SiteServer


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


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    """The article captured, then recaptured with a 304 (its stylesheet as an identical
    payload) after the article it links to was replaced by a removal notice."""
    vigil = Vigil(tmp_path_factory.mktemp("replay") / "home")
    with recaptured(vigil) as site:
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
        # The memento is the revisit's, at its own time, not the original's.
        assert reply.headers["Memento-Datetime"] == format_datetime(
            parse_stored(latest["timestamp"]), usegmt=True), path


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
    assert archive.get(f"/web/20261399/{url}").status == 400  # day 99, given whole
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
    # A URL not in the archive is answered with the captured URLs nearest it.
    missing = archive.vigil.run("get", url.rstrip("/")[:-3], ok=False)
    assert missing.returncode != 0 and url.encode() in missing.stderr
    assert url in archive.get(f"/timemap/json/{url.rstrip('/')[:-3]}").read().decode()
    # The exact URL wins over a variant when both were captured.
    stylesheet = archive.url(STYLESHEET)
    assert archive.vigil.json("history", stylesheet + "/") == \
        archive.vigil.json("history", stylesheet)


def test_history_json_lists_failed_fetches_and_sources_say_failing_or_never_captured(
        archive: Archive, tmp_path: Path) -> None:
    vigil = Vigil(tmp_path / "failing")
    dead = f"http://127.0.0.2:{free_port('127.0.0.2')}/gone/"
    vigil.run("add", dead)
    vigil.run("crawl", "-s", "DOWNLOAD_TIMEOUT=5", "-s", "RETRY_ENABLED=False", ok=False)
    [entry] = vigil.json("history", dead)
    assert entry["failed"] is True and entry["url"] == dead
    assert entry["error"] and entry["reason"]
    [source] = vigil.json("sources")
    assert source["failing_since"] == entry["timestamp"] and source["last_capture"] is None
    assert f"failing since {entry['timestamp']}" in vigil.run("sources").stdout.decode()
    vigil.run("add", "http://127.0.0.2:9/never/")
    assert "never captured" in vigil.run("sources").stdout.decode().splitlines()[1]
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
    for path in (f"/web/{url}", f"/timegate/{url}", f"/web/{stamp}/{url}", "/captures"):
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
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_serve_stops_its_replay_child_too(archive: Archive,
                                                      stop: signal.Signals) -> None:
    config = archive.vigil.home / "vigil.toml"
    if "[serve]" not in config.read_text():
        with open(config, "a", encoding="utf-8") as handle:
            handle.write('\n[serve]\nallowed_hosts = ["desk.example.org"]\n')
    server, port = start_serve(archive.vigil, "--allow-host", "archive.example")
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    assert children, "serve started no replay child"
    replay = f"http://127.0.0.1:{port + 1}/static/wombat.js"
    urllib.request.urlopen(replay, timeout=5).close()
    allowed = archive.get("/", {"Host": "archive.example"}, base=f"http://127.0.0.1:{port}")
    assert allowed.status == 200  # --allow-host adds a name
    configured = archive.get("/", {"Host": "desk.example.org:8080"},
                             base=f"http://127.0.0.1:{port}")
    assert configured.status == 200  # and so does [serve] allowed_hosts
    assert archive.get("/", {"Host": "example.org"}, base=f"http://127.0.0.1:{port}"
                       ).status == 400
    os.kill(server.pid, stop)
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


@needs_pywb
def test_captures_made_while_serving_replay_without_a_restart(archive: Archive,
                                                              tmp_path: Path) -> None:
    import shutil

    copy = Vigil(tmp_path / "home")
    shutil.copytree(archive.vigil.home, copy.home)
    server, port = start_serve(copy)
    try:
        copy.crawl()
        latest = copy.json("history", archive.url(ARTICLE))[-1]
        assert latest["status"] == 304
        memento = (f"http://127.0.0.1:{port + 1}/web/{stamp14(latest['timestamp'])}id_/"
                   f"{archive.url(ARTICLE)}")
        when = format_datetime(parse_stored(latest["timestamp"]), usegmt=True)
        body = b""
        for _ in range(300):  # the replay index is remade within seconds
            try:
                with urllib.request.urlopen(memento, timeout=5) as reply:
                    # Before, pywb answers with the nearest memento it knows: an older one.
                    if reply.headers.get("Memento-Datetime") == when:
                        body = reply.read()
                        break
            except urllib.error.HTTPError:
                pass
            time.sleep(0.1)
        assert HEADLINE.encode() in body
    finally:
        server.terminate()
        server.wait(timeout=30)
