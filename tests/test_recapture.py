"""Recapture: schedules, revisit records, conditional requests, reindexing, stats."""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import os
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from conftest import (
    Vigil,
    check_archive,
    free_port,
    send_html,
    slow_site,
    stamp14,
    validating,
)
from crawler.demo.replica import SEED_PATH
from crawler.demo.siteserver import Resource, SiteServer

ROOT = Path(__file__).resolve().parent.parent
WAYBACK = ROOT / ".venv-pywb" / "bin" / "wayback"
WB_MANAGER = ROOT / ".venv-pywb" / "bin" / "wb-manager"


def records(vigil: Vigil, entry: dict[str, object]) -> object:
    with open(vigil.home / str(entry["warc"]), "rb") as handle:
        handle.seek(int(str(entry["offset"])))
        return next(iter(ArchiveIterator(handle)))


def test_schedules_are_set_shown_and_refused_when_invalid(vigil: Vigil) -> None:
    vigil.run("add", "https://example.org/a", "--every", "90s", "--jitter", "10s",
              "--quiet-hours", "22:00-06:00")
    vigil.run("add", "https://example.org/b", "--cron", "0 */6 * * *")
    vigil.run("add", "https://example.org/c")
    a, b, c = vigil.json("sources")
    assert (a["every"], a["cron"], a["jitter_seconds"], a["quiet_hours"]) == \
        ("90s", None, 10, "22:00-06:00")
    assert (b["every"], b["cron"]) == (None, "0 */6 * * *")
    assert c["every"] == "1d" and c["last_capture"] is None
    assert all(s["next_capture"].endswith("Z") for s in (a, b, c))
    for bad in (("--every", "10x"), ("--every", "0s"), ("--cron", "61 * * * *"),
                ("--cron", "* *"), ("--every", "1m", "--cron", "* * * * *"),
                ("--quiet-hours", "25:00-01:00"), ("--cron", "0 0 31 2 *"),
                ("--every", "99999999999999999999d")):
        result = vigil.run("schedule", "https://example.org/a", *bad, ok=False)
        assert result.returncode == 2, bad
        assert len(result.stderr.decode().strip().splitlines()) == 1
        result = vigil.run("add", "https://example.org/new", *bad, ok=False)
        assert result.returncode == 2, bad
    def settled(sources: list[dict[str, object]]) -> list[dict[str, object]]:
        # A source never captured is due "now", which moves: compare the rest.
        return [{k: v for k, v in s.items() if k != "next_capture"} for s in sources]

    assert settled(vigil.json("sources")) == settled([a, b, c])  # nothing changed
    [changed] = vigil.json("schedule", "https://example.org/b", "--every", "15m")
    assert (changed["every"], changed["cron"]) == ("15m", None)


def test_an_unchanged_recapture_is_a_revisit_that_get_resolves(
        vigil: Vigil, news: SiteServer, outside: SiteServer) -> None:
    css = news.url("/static/css/site.css")
    vigil.run("add", news.url(SEED_PATH))
    vigil.crawl()
    vigil.crawl()
    first, second = vigil.json("history", css)
    assert (first["revisit"], second["revisit"]) == (False, True)
    assert second["digest"] == first["digest"]
    record = records(vigil, second)
    headers = record.rec_headers
    assert record.rec_type == "revisit"
    assert headers.get_header("WARC-Profile") == \
        "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
    assert headers.get_header("WARC-Refers-To-Target-URI") == css
    assert headers.get_header("WARC-Refers-To-Date") == records(vigil, first).rec_headers \
        .get_header("WARC-Date")
    assert headers.get_header("WARC-Refers-To") == records(vigil, first).rec_headers \
        .get_header("WARC-Record-ID")
    assert headers.get_header("WARC-Truncated") == "length"
    assert record.http_headers.get_header("Content-Type") == "text/css"
    body = vigil.get(css, "--at", second["timestamp"])
    assert body == news.sent["/static/css/site.css"][0]
    assert "sha256:" + hashlib.sha256(body).hexdigest() == second["digest"]
    figures = vigil.json("stats")
    assert figures["revisits"] > 0 and figures["bytes_saved"] > 0
    assert figures["unique_payloads"] < figures["captures"]


class _Validating(BaseHTTPRequestHandler):
    """Answers 304 to a request that carries the current validators."""

    body = b"<html><body><article><h1>Order</h1><p>The order, as issued.</p>" \
           b"<p><a href='/2026/01/01/annex/'>annex</a></p></article></body></html>"
    etag = '"v1"'
    modified = email.utils.formatdate(1_700_000_000, usegmt=True)


validating_order = validating(lambda: _Validating.body, _Validating.etag,
                              last_modified=lambda: _Validating.modified,
                              content_type="text/html")


def validating_image(handler: BaseHTTPRequestHandler) -> None:
    if handler.headers.get("If-None-Match") == '"seal"':
        handler.send_response(304)
        handler.end_headers()
        return
    image = bytes(range(256)) * 8
    handler.record_sent(image)  # type: ignore[attr-defined]
    handler.send_response(200)
    handler.send_header("Content-Type", "image/png")
    handler.send_header("ETag", '"seal"')
    handler.send_header("Content-Length", str(len(image)))
    handler.end_headers()
    handler.wfile.write(image)


@pytest.fixture
def validating_site() -> Iterator[SiteServer]:
    routes = {"/2026/02/02/order/": validating_order, "/seal.png": validating_image,
              "/2026/01/01/annex/": Resource(b"<article><p>Annex text.</p>"
                                             b"<img src='/seal.png'></article>")}
    with SiteServer(routes, host="127.0.0.2") as site:
        yield site


def test_a_304_to_a_conditional_request_is_a_not_modified_revisit(
        vigil: Vigil, validating_site: SiteServer) -> None:
    url = validating_site.url("/2026/02/02/order/")
    vigil.run("add", url)
    vigil.crawl()
    second = vigil.crawl()
    assert second["events"] == [] and second["failures"] == 0
    image = vigil.json("history", validating_site.url("/seal.png"))
    assert [(e["status"], e["revisit"]) for e in image] == [(200, False), (304, True)]
    first, again = vigil.json("history", url)
    assert (again["status"], again["revisit"]) == (304, True)
    record = records(vigil, again)
    assert record.rec_headers.get_header("WARC-Profile") == \
        "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
    # No request record beside a revisit: the revisit carries the validators sent.
    assert record.rec_headers.get_header("Vigil-If-None-Match") == '"v1"'
    assert record.rec_headers.get_header("Vigil-If-Modified-Since") == _Validating.modified
    assert vigil.get(url) == _Validating.body  # the 304 resolves to the archived 200
    # The spider read the archived page on the 304, so its related article was still found.
    annex = vigil.json("history", validating_site.url("/2026/01/01/annex/"))
    assert [e["crawl_id"] for e in annex] == [first["crawl_id"], again["crawl_id"]]


@pytest.mark.skipif(not WAYBACK.exists(), reason="make test installs pywb in .venv-pywb")
def test_pywb_replays_revisits_from_their_original(vigil: Vigil, news: SiteServer,
                                                   tmp_path: Path) -> None:
    vigil.run("add", news.url(SEED_PATH))
    vigil.crawl()
    vigil.crawl()
    css = news.url("/static/js/site.js")
    revisit = vigil.json("history", css)[-1]
    assert revisit["revisit"]
    root = tmp_path / "pywb"
    root.mkdir()
    subprocess.run([str(WB_MANAGER), "init", "vigil"], cwd=root, check=True,
                   capture_output=True)
    subprocess.run([str(WB_MANAGER), "add", "vigil", *map(str, vigil.warcs)], cwd=root,
                   check=True, capture_output=True)
    port = free_port("127.0.0.5")
    server = subprocess.Popen([str(WAYBACK), "-b", "127.0.0.5", "-p", str(port)], cwd=root,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        stamp = stamp14(revisit["timestamp"])
        replay = f"http://127.0.0.5:{port}/vigil/{stamp}id_/{css}"
        for _ in range(100):
            try:
                with urllib.request.urlopen(replay, timeout=5) as reply:
                    body, date = reply.read(), reply.headers.get("Memento-Datetime")
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError("pywb did not answer")
    finally:
        server.terminate()
        server.wait(timeout=10)
    # pywb may hand back the body as stored (gzip) or decoded; either is the payload.
    payload = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
    assert payload == news.sent["/static/js/site.js"][0]
    assert date is not None


def test_reindex_restores_missing_rows_and_drops_rows_that_point_at_nothing(
        vigil: Vigil, news: SiteServer) -> None:
    vigil.run("add", news.url(SEED_PATH))
    vigil.crawl()
    vigil.crawl()
    db = vigil.home / "vigil.db"
    columns = ("url", "timestamp", "status", "digest", "warc", "offset", "length", "revisit",
               "found_by", "referrer", "source_id", "crawl_id", "refers_to")
    query = f"SELECT {', '.join(columns)} FROM captures ORDER BY warc, offset"
    with sqlite3.connect(db) as conn:
        before = conn.execute(query).fetchall()
        conn.execute("DELETE FROM captures WHERE found_by IN ('requisite', 'cited')")
        conn.execute("INSERT INTO captures (url, timestamp, status, warc, offset, length) "
                     "VALUES ('http://x/', '2026-01-01T00:00:00.000000Z', 200, "
                     "'missing.warc.gz', 0, 10)")
    report = vigil.json("reindex")
    assert report["added"] > 0 and report["removed"] == 1
    with sqlite3.connect(db) as conn:
        after = conn.execute(query).fetchall()
    # refers_to holds ids, which a rebuilt row may not share: compare where it points.
    def where(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
        return [(*r[:-1], r[-1] is not None) for r in rows]

    assert where(after) == where(before)


def test_reindex_while_a_crawl_writes_keeps_that_crawls_rows(vigil: Vigil) -> None:
    with SiteServer(slow_site(0.1, "/2026/06/06/p-", 60), host="127.0.0.2") as site:
        vigil.run("add", site.url("/2026/06/06/p-0"))
        vigil.run("init")
        child = subprocess.Popen([sys.executable, "-m", "crawler.cli", "--home",
                                  str(vigil.home), "crawl", "-s", "DOWNLOAD_DELAY=0", "-s",
                                  "AUTOTHROTTLE_ENABLED=False", "-s", "ARCHIVE_INDEX_BATCH=1"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            db = vigil.home / "vigil.db"
            for _ in range(300):
                with sqlite3.connect(db) as conn:
                    if conn.execute("SELECT COUNT(*) FROM captures").fetchone()[0] >= 3:
                        break
                time.sleep(0.1)
            assert list((vigil.home / "warcs").glob("*.open")), "the crawl finished too soon"
            assert vigil.json("reindex")["removed"] == 0
        finally:
            assert child.wait(timeout=120) == 0


def test_disk_full_stops_the_crawl_with_a_clear_error_and_valid_files(vigil: Vigil) -> None:
    import random
    import resource
    import signal

    big = random.Random(7).randbytes(400_000)
    routes = {"/2026/03/03/dossier/": Resource(b"<article><p>Dossier</p><img src='/scan.png'>"
                                               b"</article>"),
              "/scan.png": Resource(big, content_type="image/png")}
    with SiteServer(routes, host="127.0.0.2") as site:
        vigil.run("add", site.url("/2026/03/03/dossier/"))
        vigil.run("init")

        def small_disk() -> None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
            resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))

        command = [sys.executable, "-m", "crawler.cli", "--home", str(vigil.home), "crawl",
                   "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False"]
        result = subprocess.run(command, capture_output=True, preexec_fn=small_disk,
                                timeout=120)
    assert result.returncode == 1
    assert b"WARC write failed" in result.stderr or b"did not finish" in result.stderr
    assert b"Traceback" not in result.stderr.split(b"vigil: error:")[-1]
    # check_archive (at teardown) proves every file valid and every row resolvable.
    assert vigil.json("history", site.url("/2026/03/03/dossier/"))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # closed (renamed) between the listing and the look
        return 0


def test_kill_9_mid_file_never_leaves_a_corrupt_file_or_a_dangling_row(vigil: Vigil) -> None:
    import random

    def slow(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(0.05)
        number = handler.path.strip("/").split("-")[-1]
        links = "".join(f"<a href='/2026/04/04/story-{n}'>s</a>" for n in range(40))
        send_html(handler, (f"<html><body><article><h1>Story {number}</h1><p>"
                            f"{'words ' * 300}</p>{links}<img src='/img-{number}.png'>"
                            "</article></body></html>").encode())

    def image(handler: BaseHTTPRequestHandler) -> None:
        # New bytes every time: every crawl writes whole records, never only revisits.
        body = os.urandom(30_000)
        handler.send_response(200)
        handler.send_header("Content-Type", "image/png")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    routes = {"*": slow, **{f"/img-{n}.png": image for n in range(40)}}
    # Each crawl is killed once its open file has grown past a size: the kills land at
    # different points of a file (mid-record, mid-batch), observed, not timed.
    cuts = random.Random(11).sample(range(20_000, 400_000, 7_919), 4)
    with SiteServer(routes, host="127.0.0.2") as site:
        vigil.run("add", site.url("/2026/04/04/story-0"), "--depth", "2")
        vigil.run("init")
        command = [sys.executable, "-m", "crawler.cli", "--home", str(vigil.home), "crawl",
                   "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
                   "-s", "ARCHIVE_INDEX_BATCH=7"]
        for cut in cuts:
            before = set(vigil.warcs)
            # The last crawl's cut file, repaired when this crawl starts, is not its own.
            stale = set((vigil.home / "warcs").glob("*.open"))
            child = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 120
            while child.poll() is None and time.monotonic() < deadline:
                growing = [w for w in (vigil.home / "warcs").glob("*.open")
                           if w not in stale and _size(w) >= cut]
                if growing:
                    break
                time.sleep(0.02)
            child.kill()
            child.wait()
            assert list((vigil.home / "warcs").glob("*.open")), f"no file open at {cut} B"
            for closed in set(vigil.warcs) - before or vigil.warcs:
                # Closed files are valid at every instant, the repaired ones included.
                check = subprocess.run([sys.executable, "-m", "warcio.cli", "check",
                                        str(closed)], capture_output=True)
                assert check.returncode == 0, closed.name
        vigil.json("reindex")
    check_archive(vigil.home)
    crawls = vigil.json("crawls")
    assert len(crawls) == len(cuts) and {c["status"] for c in crawls} == {"interrupted"}
    for entry in vigil.json("history", site.url("/2026/04/04/story-0")):
        vigil.get(site.url("/2026/04/04/story-0"), "--at", entry["datetime"])
