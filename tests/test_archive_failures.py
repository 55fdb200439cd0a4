"""One failure path: when the archive cannot write or index, the crawl fails and loses nothing."""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator

from conftest import FAST, Vigil, check_archive, send_html
from crawler.demo.siteserver import SiteServer

PAGES = 8


def _site(gate: threading.Event, filler: int = 0) -> dict[str, Any]:
    """Every page waits for ``gate``, then links the next ones; ``filler`` bytes of
    incompressible text make each page's record that large in the WARC."""
    def page(handler: BaseHTTPRequestHandler) -> None:
        gate.wait(timeout=60)
        links = "".join(f"<a href='/story-{n}/'>story {n}</a>" for n in range(PAGES))
        noise = os.urandom(filler).hex() if filler else ""
        send_html(handler, (f"<html><body><article><h1>Story</h1><p>Text of the story "
                            f"with enough words to be read.</p>{links}<p>{noise}</p>"
                            "</article></body></html>").encode())
    return {"*": page}


def _crawl_command(vigil: Vigil, *settings: str) -> list[str]:
    return [sys.executable, "-m", "crawler.cli", "--home", str(vigil.home), "crawl", "--json",
            *FAST, "-s", "ROBOTSTXT_OBEY=False", *settings]


def _wait_for(predicate: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what}")
        time.sleep(0.05)


def _running_crawl(db: Path) -> bool:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT COUNT(*) FROM crawls WHERE status = 'running'"
                            ).fetchone()[0] > 0
    finally:
        conn.close()


def test_a_locked_database_fails_the_crawl_and_every_record_written_is_kept(
        tmp_path: Path) -> None:
    vigil = Vigil(tmp_path / "home")
    gate = threading.Event()
    with SiteServer(_site(gate), host="127.0.0.2") as site:
        vigil.run("add", site.url("/story/"))
        child = subprocess.Popen(_crawl_command(vigil, "-s", "ARCHIVE_DB_TIMEOUT=0.5",
                                                "-s", "ARCHIVE_INDEX_BATCH=1"),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        db = vigil.home / "vigil.db"
        _wait_for(lambda: _running_crawl(db), "the crawl started")
        # Another writer holds the database while the pages arrive.
        lock = sqlite3.connect(db, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        gate.set()
        assert child.stderr is not None
        for line in child.stderr:
            if b"the archive stopped writing" in line:
                break
        lock.execute("ROLLBACK")
        lock.close()
        out, _ = child.communicate(timeout=120)
    assert child.returncode == 1
    summary = json.loads(out)
    assert summary["status"] == "failed"
    assert summary["finish_reason"] == "archive_write_failed"
    assert "index failed" in summary["error"] and "locked" in summary["error"]
    # The file was closed whole; every response in it is indexed (by the closing flush
    # once the lock is gone, or else by reindex) and nothing else is.
    assert summary["warcs"] and all(not w.endswith(".open") for w in summary["warcs"])
    check_archive(vigil.home)
    vigil.run("reindex")
    assert vigil.json("stats")["captures"] == _responses(vigil) > 0
    # (Which responses were written depends on which came first; each one is indexed.)
    assert all(vigil.json("history", url) for url in _response_urls(vigil))
    assert vigil.run("verify", ok=False).returncode == 0


def _response_urls(vigil: Vigil) -> list[str]:
    urls = []
    for warc in vigil.warcs:
        with warc.open("rb") as stream:
            urls += [r.rec_headers.get_header("WARC-Target-URI") for r in ArchiveIterator(stream)
                     if r.rec_type in ("response", "revisit")]
    return urls


def _responses(vigil: Vigil) -> int:
    return len(_response_urls(vigil))


def _file_size_limit(limit: int) -> Any:
    def apply() -> None:
        # Writes past the limit fail with EFBIG, as writes to a full disk fail with
        # ENOSPC: the same OSError path, without a disk of our own to fill.
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_a_full_disk_fails_the_crawl_and_leaves_every_file_valid(tmp_path: Path) -> None:
    vigil = Vigil(tmp_path / "home")
    gate = threading.Event()
    gate.set()
    with SiteServer(_site(gate, filler=150_000), host="127.0.0.2") as site:
        vigil.run("add", site.url("/story/"))
        done = subprocess.run(_crawl_command(vigil), capture_output=True, timeout=180,
                              preexec_fn=_file_size_limit(1_000_000))
    assert done.returncode == 1, done.stderr.decode(errors="replace")[-2000:]
    summary = json.loads(done.stdout)
    assert summary["status"] == "failed"
    assert "write failed" in summary["error"] and "too large" in summary["error"].lower()
    assert 0 < summary["pages"] < PAGES + 1
    # Every response written is indexed, in a closed file that passes warcio.
    check_archive(vigil.home)
    assert vigil.json("stats")["captures"] == _responses(vigil) == summary["pages"]
    assert len(vigil.json("history", site.url("/story/"))) == 1
    assert vigil.run("verify", ok=False).returncode == 0
