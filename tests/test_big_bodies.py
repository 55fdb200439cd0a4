"""Bodies past the payload cap: spooled to disk, written as a stream, archived cut, never parsed."""

from __future__ import annotations

import gzip
import hashlib
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import tracemalloc
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_hostile import (
    PEAK_RSS_KB,
    Hostile,
    Request,
    Responder,
    html,
    page,
    response,
    send,
    warcio_check,
)
from warcio.archiveiterator import ArchiveIterator

from archive.payload import is_stored_digest
from archive.records import HttpExchange, build_exchange_records
from archive.urls import normalize_url
from archive.warcfile import RotatingWarcWriter
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


def _record_of(warcs: Path, url: str) -> tuple[dict[str, str], int, str]:
    """(WARC headers, body length, body SHA-256) of the response record of ``url``, read
    in pieces (the test process's own high-water mark is inherited by the crawls it
    starts, through exec, and counts in their peak RSS)."""
    for warc in sorted(warcs.glob("*.warc.gz")):
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
    headers, size, sha256 = _record_of(vigil.home / "warcs", big)
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
    status, peak = _peak_rss_kb([sys.executable, "-m", "crawler.cli", "--home",
                                 str(vigil.home), "get", big, "-o", str(tmp_path / "got")])
    assert status == 0
    assert peak < GET_PEAK_RSS_KB, peak
    # Decoded: a cut gzip stream gives what it holds (level 0: about as much as it is).
    assert (tmp_path / "got").stat().st_size > MAX_PAYLOAD * 0.99


def _redirect(to: str, body: bytes) -> Responder:
    return send(response(302, body, ("Location", to)))


def test_a_cut_is_said_of_the_body_cut_never_of_the_next_hop_of_a_redirect(
        tmp_path: Path) -> None:
    # With a payload cap of 1,000 bytes: 3xx bodies of 600 each, counted together, would
    # cut a hop that is whole; a 3xx body cut would mark the page it leads to.
    server = Hostile({
        "/seed": html(page("/a/1", "/b/1", "/c/1")),
        "/a/1": _redirect("/a/2", b"x" * 600), "/a/2": _redirect("/a/3", b"x" * 600),
        "/a/3": html(b"<p>" + b"whole " * 150 + b"</p>"),
        "/b/1": _redirect("/b/2", b"x" * 600), "/b/2": html(b"<p>" + b"cut " * 1500),
        "/c/1": _redirect("/c/2", b"x" * 5000), "/c/2": html(page(text="Whole.")),
    })
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        vigil = Vigil(tmp_path / "home")
        vigil.run("add", server.url("/seed"), "--ignore-robots")
        summary = vigil.json("crawl", *FAST, "-s", "ARCHIVE_MAX_PAYLOAD=1000")
    finally:
        server.shutdown()
        server.server_close()
    assert summary["status"] == "finished", summary
    with sqlite3.connect(vigil.home / "vigil.db") as conn:
        rows = {url.split("/", 3)[3]: (truncated, size) for url, truncated, size in
                conn.execute("SELECT url, truncated, size FROM captures")}
    assert rows["a/1"] == (None, 600) and rows["a/2"] == (None, 600)
    assert rows["a/3"] == (None, 907), "a whole page after two 3xx bodies"
    assert rows["b/2"] == ("length", 1000), "the final body, cut, is marked"
    assert rows["c/1"] == ("length", 1000), "the 3xx body, cut, is marked"
    assert rows["c/2"][0] is None, "the page it leads to is whole"


def test_the_index_marks_a_payload_past_the_crawl_s_own_decode_cap(tmp_path: Path) -> None:
    inflated = b"<p>" + b"the minutes of the flood committee " * 60_000 + b"</p>"  # 2.1 MB
    server = Hostile({"/seed": html(page("/inflates")),
                      "/inflates": html(gzip.compress(inflated), ("Content-Encoding", "gzip"))})
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        vigil = Vigil(tmp_path / "home")
        vigil.run("add", server.url("/seed"), "--ignore-robots")
        vigil.json("crawl", *FAST, "-s", "CRAWL_DECODE_CAP=1000000")
    finally:
        server.shutdown()
        server.server_close()
    url = normalize_url(server.url("/inflates"))
    with sqlite3.connect(vigil.home / "vigil.db") as conn:
        [(digest,)] = conn.execute("SELECT digest FROM captures WHERE url = ?", [url])
    assert is_stored_digest(digest), "past CRAWL_DECODE_CAP, indexed as stored"


def _spooled_exchange(directory: Path, size: int) -> HttpExchange:
    spool = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 - the exchange's to close
    block = random.Random(15).randbytes(MIB)
    for start in range(0, size, MIB):
        spool.write(block[:size - start])
    spool.flush()
    return HttpExchange(
        url="http://127.0.0.1/big", method="GET", request_headers=[("Host", "127.0.0.1")],
        request_body=b"", protocol="HTTP/1.1", status=200, reason="OK",
        response_headers=[("Content-Type", "application/octet-stream")], body=b"",
        date=datetime(2026, 12, 1, 20, 0, tzinfo=UTC), ip_address="127.0.0.1",
        truncated="length", spool=spool)


def test_a_spooled_body_is_written_into_its_record_as_a_stream(tmp_path: Path) -> None:
    exchange = _spooled_exchange(tmp_path, 64 * MIB + 5)
    writer = RotatingWarcWriter(tmp_path / "warcs", {"software": "test"})
    tracemalloc.start()
    try:
        writer.write(*build_exchange_records(writer.builder, exchange))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    writer.close()
    assert peak < 8 * MIB, f"held {peak} bytes"
    headers, size, sha256 = _record_of(tmp_path / "warcs", "http://127.0.0.1/big")
    assert headers["WARC-Payload-Digest"] == exchange.payload_digest
    assert (size, sha256) == (64 * MIB + 5, exchange.body_sha256.hex())
    assert subprocess.run([sys.executable, "-m", "warcio.cli", "check", "-v", str(
        tmp_path / "warcs" / writer.closed_files[0])], capture_output=True).returncode == 0


# Forks the command from a small process and prints its exit status and peak RSS: a child
# forked from pytest itself would inherit pytest's high-water mark through exec.
_MEASURED = """import os, sys
pid = os.fork()
if pid == 0:
    fd = os.open(os.devnull, os.O_WRONLY)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def _peak_rss_kb(command: list[str]) -> tuple[int, int]:
    """(exit status, peak RSS in KiB) of one run of ``command``."""
    measured = subprocess.run([sys.executable, "-c", _MEASURED, *command],
                              capture_output=True, text=True, check=True, timeout=180)
    status, peak = measured.stdout.split()
    return int(status), int(peak)


def test_vigil_get_of_a_100_mb_record_streams_it(tmp_path: Path) -> None:
    vigil = Vigil(tmp_path / "home")
    vigil.run("init")
    writer = RotatingWarcWriter(vigil.home / "warcs", {"software": "test"})
    writer.write(*build_exchange_records(writer.builder,
                                         _spooled_exchange(tmp_path, MAX_PAYLOAD)))
    writer.close()
    vigil.run("reindex")
    status, peak = _peak_rss_kb([sys.executable, "-m", "crawler.cli", "--home",
                                 str(vigil.home), "get", "http://127.0.0.1/big",
                                 "-o", str(tmp_path / "got")])
    assert status == 0
    assert (tmp_path / "got").stat().st_size == MAX_PAYLOAD
    assert peak < GET_PEAK_RSS_KB, peak


def test_a_304_for_a_page_past_the_parse_limit_is_not_parsed_either(tmp_path: Path) -> None:
    # The archived original (60 MiB here) is not read back to hand the spider
    # (crawler/crawl/conditional.py): refused unread, as the page was when fetched.
    body = tmp_path / "page.html"
    with body.open("wb") as out:
        for chunk, _ in zip(_html_chunks(), range(60), strict=False):
            out.write(chunk)
    headers = (b"ETag: \"v1\"\r\nLast-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
               b"Content-Type: text/html\r\nConnection: close\r\n")

    def big(conn: socket.socket, request: Request) -> None:
        if b"\r\nif-none-match:" in request.head.lower():
            conn.sendall(b"HTTP/1.1 304 Not Modified\r\n" + headers + b"\r\n")
            return
        conn.sendall(b"HTTP/1.1 200 OK\r\n" + headers
                     + f"Content-Length: {body.stat().st_size}\r\n\r\n".encode())
        with body.open("rb") as stream:
            conn.sendfile(stream)

    server = Hostile({"/seed": html(page("/big")), "/big": big,
                      "/never-read": html(page(text="Read from the big page."))})
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        vigil = Vigil(tmp_path / "home")
        vigil.run("add", server.url("/seed"), "--ignore-robots")
        first = vigil.json("crawl", *FAST)
        second = vigil.json("crawl", *FAST)
    finally:
        server.shutdown()
        server.server_close()
    assert b"if-none-match" in server.heads["/big"].lower(), "the second crawl asked"
    assert first["peak_rss_kb"] < PEAK_RSS_KB
    # Read back whole, the original took the crawl to about 200 MB.
    assert second["peak_rss_kb"] < 140_000, second["peak_rss_kb"]
    assert server.hits["/never-read"] == 0
    with sqlite3.connect(vigil.home / "vigil.db") as conn:
        rows = conn.execute("SELECT crawl_id, error, message FROM failures").fetchall()
    assert [(crawl, error) for crawl, error, _ in rows] == [(1, Reason.DECODE_CAP),
                                                           (2, Reason.DECODE_CAP)], rows
    assert f"({body.stat().st_size} B as received)" in rows[1][2]


def _inflating(mib: int) -> bytes:
    """A gzip body of about a megabyte that decodes to ``mib`` MiB of a page's text."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = next(b for i, b in enumerate(_html_chunks()) if i == 1)[:MIB]
    return b"".join([compressor.compress(block) for _ in range(mib)] + [compressor.flush()])


@pytest.mark.parametrize("content_type", ["text/html", "application/javascript"])
def test_a_small_body_that_decodes_to_150_mb_is_archived_not_held_decoded(
        tmp_path: Path, content_type: str) -> None:
    inflating = _inflating(150)
    assert len(inflating) < 2 * MIB
    server = Hostile({"/seed": html(page("/inflates")), "/inflates": send(response(
        200, inflating, ("Content-Encoding", "gzip"), content_type=content_type))})
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        vigil = Vigil(tmp_path / "home")
        vigil.run("add", server.url("/seed"), "--ignore-robots")
        summary = vigil.json("crawl", *FAST)
    finally:
        server.shutdown()
        server.server_close()
    assert summary["peak_rss_kb"] < PEAK_RSS_KB, summary["peak_rss_kb"]
    url = normalize_url(server.url("/inflates"))
    _, size, sha256 = _record_of(vigil.home / "warcs", url)
    assert size == len(inflating) and sha256 == hashlib.sha256(inflating).hexdigest()
    with sqlite3.connect(vigil.home / "vigil.db") as conn:
        failures = dict(conn.execute("SELECT error, message FROM failures WHERE url = ?",
                                     [url]))
    if content_type == "text/html":
        assert list(failures) == [Reason.DECODE_CAP]
        assert "CRAWL_PARSE_LIMIT" in failures[Reason.DECODE_CAP]
    else:
        assert failures == {}, "a body the spider would not read is only archived"


def test_bodies_past_the_parse_limit_count_against_the_source_s_byte_budget(
        tmp_path: Path) -> None:
    # Archived unread, each of these still came over the wire and onto the disk.
    big = html(b"<html><body><p>" + b"minutes of the committee " * 3000 + b"</p></body></html>")
    links = [f"/big/{n}" for n in range(80)]
    server = Hostile({"/seed": html(page(*links)), **dict.fromkeys(links, big)})
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        vigil = Vigil(tmp_path / "home")
        vigil.run("add", server.url("/seed"), "--ignore-robots")
        vigil.json("crawl", *FAST, "-s", "CRAWL_PARSE_LIMIT=65536",
                   "-s", "CRAWL_SOURCE_MAX_BYTES=1000000")
    finally:
        server.shutdown()
        server.server_close()
    with sqlite3.connect(vigil.home / "vigil.db") as conn:
        errors = [e for (e,) in conn.execute("SELECT error FROM failures")]
    assert Reason.BUDGET in errors, errors
    assert sum(server.hits[u] for u in links) < len(links)
