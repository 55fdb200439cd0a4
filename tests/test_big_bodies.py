"""Bodies past the payload cap: spooled to disk, written as a stream, archived cut, never parsed."""

from __future__ import annotations

import hashlib
import os
import random
import socket
import sqlite3
import subprocess
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_hostile import (
    PEAK_RSS_KB,
    Hostile,
    Request,
    Responder,
    html,
    page,
    warcio_check,
)
from warcio.archiveiterator import ArchiveIterator

from archive.urls import normalize_url
from conftest import FAST, Vigil
from spiders.failures import Reason

MIB = 1 << 20
BIG = 150 * MIB
MAX_PAYLOAD = 100_000_000  # ARCHIVE_MAX_PAYLOAD
# `vigil get` of a 100 MB record: its payload streams from the file.
GET_PEAK_RSS_KB = 150_000


def _html_chunks() -> Iterator[bytes]:
    yield b"<html><head><title>Big</title></head><body><article><h1>Big</h1>" \
          b'<a href="/never-read">a link past nothing</a>'
    block = b"<p>the minutes of the flood committee, read aloud in full</p>\n" * 16384
    while True:
        yield block


def _binary_chunks() -> Iterator[bytes]:
    block = random.Random(15).randbytes(MIB)
    while True:
        yield block


def _gzip(chunks: Iterator[bytes]) -> Iterator[bytes]:
    # Level 0: stored deflate blocks, as large as what they hold, made at once.
    compressor = zlib.compressobj(0, zlib.DEFLATED, 31)
    for chunk in chunks:
        yield compressor.compress(chunk)


def _body_file(directory: Path, kind: str, coding: str | None) -> Path:
    """About 150 MiB as sent (a gzip stream cut there is still what a server sent)."""
    path = directory / f"{kind}-{coding}.body"
    chunks = _html_chunks() if kind == "html" else _binary_chunks()
    if coding == "gzip":
        chunks = _gzip(chunks)
    written = 0
    with path.open("wb") as out:
        for chunk in chunks:
            out.write(chunk[:BIG - written])
            written += min(len(chunk), BIG - written)
            if written >= BIG:
                break
    return path


def _serve_file(path: Path, content_type: str, coding: str | None,
                length: bool) -> Responder:
    def responder(conn: socket.socket, request: Request) -> None:
        fields = [("Content-Type", content_type), ("Connection", "close")]
        if coding:
            fields.append(("Content-Encoding", coding))
        if length:
            fields.append(("Content-Length", str(path.stat().st_size)))
        conn.sendall(b"HTTP/1.1 200 OK\r\n" + b"".join(
            f"{k}: {v}\r\n".encode() for k, v in fields) + b"\r\n")
        with path.open("rb") as body:
            conn.sendfile(body)
    return responder


def _prefix_sha256(path: Path, size: int) -> str:
    digest, left = hashlib.sha256(), size
    with path.open("rb") as body:
        while left and (chunk := body.read(min(MIB, left))):
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def _record_of(home: Path, url: str) -> tuple[dict[str, str], int, str]:
    """(WARC headers, body length, body SHA-256) of the response record of ``url``."""
    for warc in sorted((home / "warcs").glob("*.warc.gz")):
        with warc.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type != "response" or \
                        normalize_url(record.rec_headers.get_header("WARC-Target-URI")) != url:
                    continue
                digest, size = hashlib.sha256(), 0
                while chunk := record.raw_stream.read(MIB):
                    digest.update(chunk)
                    size += len(chunk)
                return dict(record.rec_headers.headers), size, digest.hexdigest()
    raise AssertionError(f"no response record of {url}")


def _peak_rss_kb(command: list[str]) -> tuple[int, int]:
    """(exit status, peak RSS) of one child process."""
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return child.returncode, usage.ru_maxrss


CASES = [(kind, coding, length) for kind in ("html", "binary") for coding in (None, "gzip")
         for length in (True, False)]


@pytest.mark.parametrize(("kind", "coding", "length"), CASES,
                         ids=[f"{k}-{c or 'plain'}-{'length' if n else 'no-length'}"
                              for k, c, n in CASES])
def test_a_150_mb_body_is_archived_cut_at_the_cap_in_bounded_memory(
        tmp_path: Path, kind: str, coding: str | None, length: bool) -> None:
    body = _body_file(tmp_path, kind, coding)
    content_type = "text/html" if kind == "html" else "application/octet-stream"
    server = Hostile({"/seed": html(page("/big")),
                      "/big": _serve_file(body, content_type, coding, length),
                      "/never-read": html(page(text="Read from the big page."))})
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        vigil = Vigil(tmp_path / "home")
        vigil.run("add", server.url("/seed"), "--ignore-robots")
        summary = vigil.json("crawl", *FAST)
    finally:
        server.shutdown()
        server.server_close()
    assert summary["status"] == "finished", summary
    assert summary["peak_rss_kb"] < PEAK_RSS_KB, summary["peak_rss_kb"]
    big = normalize_url(server.url("/big"))
    headers, size, sha256 = _record_of(vigil.home, big)
    assert headers["WARC-Truncated"] == "length"
    assert size == MAX_PAYLOAD, "the first 100 MB, as received"
    assert sha256 == _prefix_sha256(body, MAX_PAYLOAD)
    assert server.hits["/never-read"] == 0, "the big page's links are not read"
    with sqlite3.connect(vigil.home / "vigil.db") as conn:
        [(captured,)] = conn.execute("SELECT count(*) FROM captures WHERE url = ?", [big])
        failures = dict(conn.execute("SELECT error, message FROM failures WHERE url = ?",
                                     [big]))
    assert captured == 1
    if kind == "html":
        assert list(failures) == [Reason.DECODE_CAP], failures
        assert "CRAWL_PARSE_LIMIT" in failures[Reason.DECODE_CAP]
    else:
        assert failures == {}, "a body the spider would not read is only archived"
    warcio_check(vigil.home)
    verified = vigil.run("verify", ok=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr
