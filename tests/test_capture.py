"""A source's crawl captures the page, related articles, cited pages and requisites."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from cdxj_indexer.main import write_cdx_index
from warcio.archiveiterator import ArchiveIterator

from archive.cdxj import read_index
from conftest import Vigil, slow_site
from crawler.demo.replica import (
    DEPTH_TWO,
    FURNITURE,
    KEEP_READING,
    MOST_READ,
    OUTSIDE_PDF,
    OUTSIDE_REPORT,
    RELATED,
    REQUISITES,
    SEED_PATH,
)
from crawler.demo.siteserver import Resource, SiteServer


def captured(vigil: Vigil) -> dict[str, list[str]]:
    """URL -> how it was found, from the index, for every capture."""
    out: dict[str, list[str]] = {}
    db = vigil.home / "vigil.db"
    with sqlite3.connect(db) as conn:
        for url, found_by in conn.execute("SELECT url, found_by FROM captures"):
            out.setdefault(url, []).append(found_by)
    return out


def crawl_replica(vigil: Vigil, news: SiteServer) -> dict[str, object]:
    vigil.run("add", news.url(SEED_PATH))
    return vigil.crawl()


def test_a_source_crawl_captures_related_articles_cited_pages_and_requisites(
        vigil: Vigil, news: SiteServer, outside: SiteServer) -> None:
    summary = crawl_replica(vigil, news)
    got = captured(vigil)
    assert got[news.url(SEED_PATH)] == ["seed"]
    for path in RELATED + KEEP_READING:
        assert got[news.url(path)] == ["related"], path
    assert got[outside.url(OUTSIDE_REPORT)] == ["cited"]
    assert got[outside.url(OUTSIDE_PDF)] == ["cited"]
    for path in REQUISITES:
        assert got[news.url(path)] == ["requisite"], path
    # The cited page's own stylesheet is a requisite too, on its own host.
    assert got[outside.url("/trust.css")] == ["requisite"]
    assert summary["pages"] == len([u for urls in got.values() for u in urls])
    assert summary["failures"] == 0
    assert summary["status"] == "finished"


def test_navigation_sidebars_listings_and_depth_two_are_not_followed(
        vigil: Vigil, news: SiteServer, outside: SiteServer) -> None:
    crawl_replica(vigil, news)
    for path in [*FURNITURE, *MOST_READ, DEPTH_TWO, "/tag/lower-district/"]:
        assert path not in news.requests, path
    # Share-bar links point off-site but are not citations.
    assert not any("facebook" in url or "twitter" in url for url in captured(vigil))


def test_depth_two_reaches_the_related_articles_of_related_articles(
        vigil: Vigil, news: SiteServer, outside: SiteServer) -> None:
    vigil.run("add", news.url(SEED_PATH), "--depth", "2")
    vigil.crawl()
    assert captured(vigil)[news.url(DEPTH_TWO)] == ["related"]


def test_every_warc_passes_warcio_check_and_starts_with_warcinfo(
        vigil: Vigil, news: SiteServer, outside: SiteServer) -> None:
    crawl_replica(vigil, news)
    assert vigil.warcs, "no WARC written"
    assert not list((vigil.home / "warcs").glob("*.open"))
    for warc in vigil.warcs:
        check = subprocess.run([sys.executable, "-m", "warcio.cli", "check", "-v", str(warc)],
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        assert "digest pass" in check.stdout
        with open(warc, "rb") as handle:
            records = list(ArchiveIterator(handle))
        assert records[0].rec_type == "warcinfo"


def _cdxj(warc: Path) -> list[dict[str, str]]:
    out = subprocess.run([sys.executable, "-m", "cdxj_indexer.main", str(warc)],
                         capture_output=True, text=True, check=True).stdout
    return [json.loads(line.split(" ", 2)[2]) for line in out.splitlines() if line.strip()]


def test_an_independent_index_and_reader_find_the_exact_bytes_served(
        vigil: Vigil, news: SiteServer, outside: SiteServer) -> None:
    """cdxj-indexer locates every response; warcio's own decoder returns what was sent."""
    crawl_replica(vigil, news)
    sent = {server.url(path): bodies for server in (news, outside)
            for path, bodies in server.sent.items()}
    checked = 0
    for warc in vigil.warcs:
        for entry in _cdxj(warc):
            with open(warc, "rb") as handle:
                handle.seek(int(entry["offset"]))
                record = next(iter(ArchiveIterator(handle)))
                assert record.rec_headers.get_header("WARC-Target-URI") == entry["url"]
                if record.rec_type != "response":
                    continue
                body = record.content_stream().read()
            assert body in sent[entry["url"]], entry["url"]
            checked += 1
    assert checked == sum(len(b) for b in sent.values())


def test_the_cdxj_index_written_at_close_is_what_cdxj_indexer_reads_from_the_file(
        vigil: Vigil, news: SiteServer, outside: SiteServer) -> None:
    """The index is made from what the writer knew, not by reading the file back: it must
    be byte for byte what the reference indexer finds in the file (revisits included)."""
    crawl_replica(vigil, news)
    vigil.crawl()  # unchanged pages: revisits, and 304s to conditional requests
    assert len(vigil.warcs) == 2
    for warc in vigil.warcs:
        reference = io.StringIO()
        write_cdx_index(reference, [str(warc)], {"sort": True})
        ours = read_index(vigil.home / "indexes", warc.name)
        assert ours == reference.getvalue(), warc.name
        assert '"mime": "warc/revisit"' in ours or warc == vigil.warcs[0]


def test_vigil_get_returns_the_decoded_payload_and_history_its_digest(
        vigil: Vigil, news: SiteServer, outside: SiteServer) -> None:
    crawl_replica(vigil, news)
    for url in [news.url(SEED_PATH), news.url("/static/css/site.css"),
                news.url("/static/img/levee-1600.png"), outside.url(OUTSIDE_PDF)]:
        body = vigil.get(url)
        path = url.split("/", 3)[3]
        server = news if url.startswith(news.base) else outside
        assert body == server.sent["/" + path][-1]
        entry = vigil.json("history", url)[-1]
        assert entry["digest"] == "sha256:" + hashlib.sha256(body).hexdigest()


def test_get_at_chooses_the_capture_closest_to_the_date(vigil: Vigil) -> None:
    versions = iter([b"<p>first version</p>", b"<p>second version</p>", b"<p>third</p>"])
    page = Resource(lambda: next(versions))
    with SiteServer({"/statement": page}, host="127.0.0.2") as site:
        url = site.url("/statement")
        vigil.run("add", url, "--depth", "0")
        for _ in range(3):
            vigil.crawl()
        history = vigil.json("history", url)
    moments = [datetime.fromisoformat(e["datetime"]) for e in history]
    assert len(moments) == 3 and moments == sorted(moments)
    first_gap = moments[1] - moments[0]
    just_after_first = moments[0] + first_gap / 4
    just_before_second = moments[1] - first_gap / 4
    assert vigil.get(url, "--at", just_after_first.isoformat()) == b"<p>first version</p>"
    assert vigil.get(url, "--at", just_before_second.isoformat()) == b"<p>second version</p>"
    assert vigil.get(url, "--at", "2000-01-01") == b"<p>first version</p>"
    assert vigil.get(url, "--at", "29991231235959") == b"<p>third</p>"
    assert vigil.get(url) == b"<p>third</p>"


def _listening_socket_inodes() -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":  # LISTEN
                inodes.add(fields[9])
    return inodes


def _socket_inodes(pid: int) -> set[str]:
    import os

    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except FileNotFoundError:  # closed while we looked
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    return inodes


def test_a_crawl_listens_on_no_port_and_leaves_no_control_token(vigil: Vigil,
                                                                 tmp_path: Path) -> None:
    # Scrapy 2.19 starts by default an HTTP server that runs any Python code posted to it,
    # and writes its token to a job file under the user's state directory.
    import os
    import time

    state = tmp_path / "state"
    with SiteServer(slow_site(0.2, "/2026/07/07/p-", 60), host="127.0.0.2") as site:
        vigil.run("add", site.url("/2026/07/07/p-0"))
        child = subprocess.Popen(
            [sys.executable, "-m", "crawler.cli", "--home", str(vigil.home), "crawl",
             "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "XDG_STATE_HOME": str(state)})
        try:
            fetching = False
            for _ in range(30):  # three seconds of the crawl, sampled
                time.sleep(0.1)
                sockets = _socket_inodes(child.pid)
                fetching |= bool(sockets)
                assert not sockets & _listening_socket_inodes()
                assert not list(state.rglob("*.json"))
            assert fetching and child.poll() is None, "the crawl finished too soon"
        finally:
            assert child.wait(timeout=120) == 0


def test_a_source_at_a_sites_root_is_probed_on_its_own_host(vigil: Vigil) -> None:
    # The made-up not-found URL sits next to the source: for a site's home page, at its
    # root on the same host (not a host named after the probe).
    with SiteServer({"/": Resource(b"<html><body><article><h1>Home</h1><p>Front page "
                                   b"words to read.</p></article></body></html>")},
                    host="127.0.0.2") as site:
        vigil.run("add", site.url("/"))
        summary = vigil.crawl()
        probes = [r for r in site.requests if "/vigil-probe-" in r]
    assert summary["found_by"].get("probe") == 1, summary
    assert len(probes) == 1 and probes[0].startswith("/vigil-probe-")
