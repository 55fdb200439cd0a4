"""Fixtures: real loopback sites, a fresh archive home, and the vigil CLI run as users run it."""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from archive.payload import is_stored_digest, sha256_label, stored_sha256_label
from archive.reader import read_record
from crawler.app.store import Store
from crawler.demo.replica import ARTICLES, SEED_PATH, _page, _seed, news_site, outside_site
from crawler.demo.siteserver import SiteServer

# Loopback sites are ours: switch politeness off, as the README shows.
FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
        "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8", "-s", "DOWNLOAD_TIMEOUT=10"]
# The tests' sites cite one another across loopback addresses (127.0.0.2 -> 127.0.0.3):
# allowed explicitly, as a URL found on a page may otherwise reach public addresses only.
LOOPBACK_SITES = ["-s", "CRAWL_ALLOW_NETWORKS=127.0.0.0/8"]


@dataclass
class Vigil:
    """Runs `vigil --home HOME ...` in a subprocess: Scrapy's reactor runs once per process."""

    home: Path

    def run(self, *args: str, ok: bool = True, stdin: str | None = None,
            cwd: Path | None = None, home: bool = True) -> subprocess.CompletedProcess[bytes]:
        command = [sys.executable, "-m", "crawler.cli"]
        if home:
            command += ["--home", str(self.home)]
        result = subprocess.run([*command, *args], capture_output=True, timeout=180,
                                input=stdin.encode() if stdin else None, cwd=cwd)
        if ok and result.returncode != 0:
            raise AssertionError(f"vigil {' '.join(args)} exited {result.returncode}:\n"
                                 f"{result.stderr.decode(errors='replace')}")
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)

    def crawl(self, *args: str) -> dict[str, Any]:
        summary: dict[str, Any] = self.json("crawl", *FAST, *LOOPBACK_SITES, *args)
        return summary

    def get(self, url: str, *args: str) -> bytes:
        return self.run("get", url, *args).stdout

    @property
    def warcs(self) -> list[Path]:
        return sorted((self.home / "warcs").glob("*.warc.gz"))


def next_second() -> None:
    """Wait for the clock to enter a new second: mementos are addressed to the second, so
    a capture made after this is never in the same one as a capture made before."""
    start = int(time.time())
    while int(time.time()) == start:
        time.sleep(0.01)


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def stamp14(timestamp: str) -> str:
    """``2026-11-21T18:30:46Z`` as the 14 digits of a Wayback/Memento URL."""
    return timestamp.replace("-", "").replace(":", "").replace("T", "")[:14]


def slow_site(delay: float, prefix: str, links: int, heading: str = "") -> dict[str, Any]:
    """A site whose every page answers after ``delay`` and links ``links`` more pages
    ``<prefix>0``, ``<prefix>1`` …: a crawl that takes a while, to interrupt."""
    def page(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(delay)
        send_html(handler, (f"<html><body><article>{heading}<p>Text.</p>" + "".join(
            f"<a href='{prefix}{n}'>x</a>" for n in range(links)) +
            "</article></body></html>").encode())
    return {"*": page}


def send_html(handler: BaseHTTPRequestHandler, body: bytes, status: int = 200) -> None:
    """Answer a request to one of the tests' hand-made sites with an HTML page."""
    handler.send_response(status)
    handler.send_header("Content-Type", "text/html")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def validating(body: Callable[[], bytes], etag: str, *,
               last_modified: Callable[[], str] | None = None,
               content_type: str = "text/html; charset=utf-8"
               ) -> Callable[[BaseHTTPRequestHandler], None]:
    """A page that answers 304 to a request naming its ETag (``body`` and
    ``last_modified`` are read at each request, so a test can change them)."""
    def handle(handler: BaseHTTPRequestHandler) -> None:
        if handler.headers.get("If-None-Match") == etag:
            handler.send_response(304)
            handler.send_header("ETag", etag)
            handler.end_headers()
            return
        page = body()
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("ETag", etag)
        if last_modified is not None:
            handler.send_header("Last-Modified", last_modified())
        handler.send_header("Content-Length", str(len(page)))
        handler.end_headers()
        handler.wfile.write(page)
    return handle


def check_archive(home: Path) -> None:
    """Every WARC passes `warcio check`, none is left open, and every capture row points at
    a record of its URL whose payload (a revisit's original's) has the row's digest."""
    warcs = sorted((home / "warcs").glob("*.warc.gz*"))
    assert not [w for w in warcs if w.name.endswith(".open")], "a WARC was left open"
    for warc in warcs:
        check = subprocess.run([sys.executable, "-m", "warcio.cli", "check", str(warc)],
                               capture_output=True, text=True)
        assert check.returncode == 0, f"warcio check {warc.name}:\n{check.stdout}"
    db = home / "vigil.db"
    if not db.exists():
        return
    store = Store.open(db)
    try:
        captures = list(store.captures.all())
        for capture in captures:
            record = read_record(home / "warcs", capture.warc, capture.offset)
            assert record.target_uri == capture.target_uri
            if capture.revisit:
                # A revisit serves its original's payload, which must be there too.
                assert record.rec_type == "revisit"
                holder = store.captures.original(capture)
                assert not holder.revisit, f"revisit of {capture.url} resolves to nothing"
                assert record.warc_header("WARC-Refers-To") == holder.record_id
                record = read_record(home / "warcs", holder.warc, holder.offset)
            if record.rec_type == "resource":  # a rendered page's screenshot or DOM
                assert sha256_label(hashlib.sha256(record.body).digest()) == capture.digest
                continue
            assert record.rec_type == "response"
            if is_stored_digest(capture.digest):  # past the decode cap: kept as stored
                assert stored_sha256_label(hashlib.sha256(record.body).digest()) == \
                    capture.digest, capture.url
            else:
                assert sha256_label(record.payload_sha256()[0]) == capture.digest, capture.url
    finally:
        store.close()


@pytest.fixture
def vigil(tmp_path: Path) -> Iterator[Vigil]:
    tool = Vigil(tmp_path / "home")
    yield tool
    check_archive(tool.home)


@pytest.fixture
def outside() -> Iterator[SiteServer]:
    """The site the replica's articles cite, on its own loopback address."""
    with SiteServer(outside_site(), host="127.0.0.3") as server:
        yield server


@pytest.fixture
def news(outside: SiteServer) -> Iterator[SiteServer]:
    """The replica news site, on 127.0.0.2."""
    with SiteServer(news_site(outside.base), host="127.0.0.2") as server:
        yield server


def edited_seed(outside: str) -> bytes:
    html = _seed(outside).replace("denied that any\nneighbourhood had been overlooked",
                                  "confirmed that two\nneighbourhoods had been overlooked")
    assert html != _seed(outside)
    return _page(ARTICLES[SEED_PATH][0], html)
