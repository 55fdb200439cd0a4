"""WARC records hold the exchange as it came off the wire, whatever the site does."""

from __future__ import annotations

import gzip
import socket
import sqlite3
import struct
import time
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from conftest import Vigil, check_archive
from crawler.demo.siteserver import Resource, Route, SiteServer

ARTICLE = ("<!DOCTYPE html><html><head><title>Statement</title></head><body><main>"
           "<article><h1>Statement</h1><p>The ministry's statement, in full.</p>"
           "{links}</article></main></body></html>")
BIG = bytes(range(256)) * 1200  # 307,200 bytes


def chunked(handler: BaseHTTPRequestHandler) -> None:
    body = b"<html><body><p>sent in chunks</p></body></html>"
    handler.record_sent(body)  # type: ignore[attr-defined]
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    for piece in (body[:10], body[10:25], body[25:]):
        handler.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
    handler.wfile.write(b"0\r\n\r\n")


def gzip_chunked(handler: BaseHTTPRequestHandler) -> None:
    body = b"compressed and chunked " * 50
    handler.record_sent(body)  # type: ignore[attr-defined]
    packed = gzip.compress(body)
    handler.send_response(200)
    handler.send_header("Content-Type", "text/plain")
    handler.send_header("Content-Encoding", "gzip")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    handler.wfile.write(f"{len(packed):x}\r\n".encode() + packed + b"\r\n0\r\n\r\n")


def odd_reason(handler: BaseHTTPRequestHandler) -> None:
    body = b"fine"
    handler.record_sent(body)  # type: ignore[attr-defined]
    handler.wfile.write(b"HTTP/1.1 200 Fine Thanks\r\nContent-Type: text/plain\r\n"
                        b"X-Note: cr\xe8me br\xfbl\xe9e\r\nContent-Length: 4\r\n\r\nfine")


def cut_short(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/octet-stream")
    handler.send_header("Content-Length", "5000")
    handler.end_headers()
    handler.wfile.write(b"x" * 1200)
    handler.wfile.flush()
    handler.close_connection = True


def reset(handler: BaseHTTPRequestHandler) -> None:
    # SO_LINGER 0: close() sends RST instead of FIN.
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.connection.close()
    handler.close_connection = True


def slow(handler: BaseHTTPRequestHandler) -> None:
    time.sleep(4)
    handler.close_connection = True


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.4", 0))
        return int(probe.getsockname()[1])


def awkward_routes() -> dict[str, Route]:
    links = "".join(f'<a href="{p}">{p}</a> ' for p in [
        "/gzip", "/identity", "/chunked", "/gzip-chunked", "/cookies", "/odd-reason",
        "/moved", "/gone", "/broken", "/file.bin", "/big.bin", "/cut-short",
        "/doc?id=levee&page=2", "/private/leak", "/reset", "/slow"])
    routes = {
        "/robots.txt": Resource(b"User-agent: *\nDisallow: /private/\n", "text/plain"),
        "/": Resource(b"home"),
        "/article": Resource(ARTICLE.format(links=links).encode()),
        "/gzip": Resource(b"<p>" + b"compressed " * 300 + b"</p>", gzip=True),
        "/identity": Resource(b"<p>plain</p>", gzip=False),
        "/chunked": chunked,
        "/gzip-chunked": gzip_chunked,
        "/cookies": Resource(b"<p>cookies</p>", headers=[
            ("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2; Path=/"),
            ("Link", '</static/a.css>; rel="preload"'), ("Link", '</static/b.js>; rel="preload"'),
        ]),
        "/odd-reason": odd_reason,
        "/moved": Resource(b"", status=301, headers=[("Location", "/landing")]),
        "/landing": Resource(b"<p>landed</p>"),
        "/gone": Resource(b"<h1>Not Found</h1>", status=404),
        "/broken": Resource(b"<h1>Server Error</h1>", status=500),
        "/file.bin": Resource(bytes(range(256)) * 10, content_type="application/octet-stream"),
        "/big.bin": Resource(BIG, content_type="application/octet-stream"),
        "/cut-short": cut_short,
        "/doc": Resource(b"<p>document</p>"),
        # A page over the cap whose link comes early: what it leads to is not cut.
        "/big-page": Resource(b"<html><body><article><img src='/after-big'><p>" +
                              b"long " * 40_000 + b"</p></article></body></html>"),
        "/after-big": Resource(b"a small image", content_type="image/png"),
        "/private/leak": Resource(b"<p>leaked</p>"),
        "/reset": reset,
        "/slow": slow,
    }
    return routes


@pytest.fixture(scope="module")
def site() -> Iterator[SiteServer]:
    with SiteServer(awkward_routes(), host="127.0.0.2") as server:
        yield server


def response_record(vigil: Vigil, url: str) -> tuple[dict[str, str], object]:
    entry = vigil.json("history", url)[-1]
    with open(vigil.home / entry["warc"], "rb") as handle:
        handle.seek(entry["offset"])
        record = next(iter(ArchiveIterator(handle)))
        record.body = record.raw_stream.read()
    return entry, record


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory, site: SiteServer) -> Iterator[Vigil]:
    """One crawl of the awkward site, read by every test below."""
    vigil = Vigil(tmp_path_factory.mktemp("awkward") / "home")
    vigil.run("add", site.url("/article"))
    dead = f"http://127.0.0.4:{closed_port()}/refused"
    site.routes["/article"] = Resource(ARTICLE.format(
        links=f'<a href="{dead}">dead</a> ' + "".join(
            f'<a href="{p}">x</a>' for p in site.routes
            if p not in ("/", "/robots.txt", "/article", "/landing", "/doc", "/after-big")) +
        '<a href="/doc?id=levee&page=2">d</a>').encode())
    vigil.summary = vigil.crawl("-s", "ARCHIVE_MAX_PAYLOAD=100000", "-s", "DOWNLOAD_TIMEOUT=2")
    vigil.dead = dead
    yield vigil
    check_archive(vigil.home)


def test_a_gzip_body_is_stored_encoded_and_get_returns_it_decoded(
        crawled: Vigil, site: SiteServer) -> None:
    url = site.url("/gzip")
    _, record = response_record(crawled, url)
    assert record.http_headers.get_header("Content-Encoding") == "gzip"
    assert gzip.decompress(record.body) == site.sent["/gzip"][-1]
    assert crawled.get(url) == site.sent["/gzip"][-1]
    assert crawled.get(site.url("/identity")) == b"<p>plain</p>"


def test_a_chunked_body_is_stored_dechunked_without_a_transfer_encoding_header(
        crawled: Vigil, site: SiteServer) -> None:
    for path in ("/chunked", "/gzip-chunked"):
        _, record = response_record(crawled, site.url(path))
        assert record.http_headers.get_header("Transfer-Encoding") is None
        assert crawled.get(site.url(path)) == site.sent[path][-1]
    _, record = response_record(crawled, site.url("/gzip-chunked"))
    assert gzip.decompress(record.body) == site.sent["/gzip-chunked"][-1]


def test_repeated_set_cookie_and_link_headers_all_survive(
        crawled: Vigil, site: SiteServer) -> None:
    _, record = response_record(crawled, site.url("/cookies"))
    headers = record.http_headers.headers
    assert [v for k, v in headers if k.lower() == "set-cookie"] == ["a=1; Path=/", "b=2; Path=/"]
    assert len([v for k, v in headers if k.lower() == "link"]) == 2


def test_the_status_line_keeps_protocol_and_reason_and_header_bytes_are_kept(
        crawled: Vigil, site: SiteServer) -> None:
    entry, _ = response_record(crawled, site.url("/odd-reason"))
    with open(crawled.home / entry["warc"], "rb") as handle:
        handle.seek(entry["offset"])
        member = gzip.GzipFile(fileobj=handle).read(entry["length"] * 20)
    assert b"\r\nHTTP/1.1 200 Fine Thanks\r\n" in member
    assert b"X-Note: cr\xe8me br\xfbl\xe9e\r\n" in member


def test_the_request_record_keeps_the_query_string_host_and_links_to_its_response(
        crawled: Vigil, site: SiteServer) -> None:
    entry = crawled.json("history", site.url("/doc?id=levee&page=2"))[-1]
    with open(crawled.home / entry["warc"], "rb") as handle:
        handle.seek(entry["offset"])
        response, request = list(ArchiveIterator(handle))[:2]
    assert request.rec_type == "request"
    assert request.http_headers.protocol == "GET"
    assert request.http_headers.statusline.startswith("/doc?id=levee&page=2 HTTP/1.1")
    assert request.http_headers.get_header("Host") == site.base.split("//")[1]
    assert request.rec_headers.get_header("WARC-Concurrent-To") == \
        response.rec_headers.get_header("WARC-Record-ID")
    assert response.rec_headers.get_header("WARC-IP-Address") == "127.0.0.2"
    assert "zstd" not in request.http_headers.get_header("Accept-Encoding")


def test_a_redirect_is_archived_and_followed(crawled: Vigil, site: SiteServer) -> None:
    [redirect] = crawled.json("history", site.url("/moved"))
    assert redirect["status"] == 301
    assert crawled.json("history", site.url("/landing"))[-1]["status"] == 200
    assert crawled.get(site.url("/moved"), "--any-status") == b""


def test_error_responses_are_archived_and_only_returned_with_any_status(
        crawled: Vigil, site: SiteServer) -> None:
    assert [e["status"] for e in crawled.json("history", site.url("/gone"))] == [404]
    assert 500 in [e["status"] for e in crawled.json("history", site.url("/broken"))]
    refused = crawled.run("get", site.url("/gone"), ok=False)
    assert refused.returncode == 1
    assert b"--any-status" in refused.stderr
    assert crawled.get(site.url("/gone"), "--any-status") == b"<h1>Not Found</h1>"


def test_a_binary_file_is_archived_byte_for_byte(crawled: Vigil, site: SiteServer) -> None:
    assert crawled.get(site.url("/file.bin")) == bytes(range(256)) * 10


def test_an_oversized_body_is_cut_at_the_cap_and_marked_truncated(
        crawled: Vigil, site: SiteServer) -> None:
    entry, record = response_record(crawled, site.url("/big.bin"))
    assert record.rec_headers.get_header("WARC-Truncated") == "length"
    assert record.body == BIG[:100000]
    assert entry["truncated"] == "length"


def test_what_a_truncated_page_links_to_is_not_truncated(crawled: Vigil,
                                                         site: SiteServer) -> None:
    [big] = crawled.json("history", site.url("/big-page"))
    assert big["truncated"] == "length"
    [after] = crawled.json("history", site.url("/after-big"))
    assert after["truncated"] is None
    assert crawled.get(site.url("/after-big")) == b"a small image"


def test_a_body_the_server_cut_short_is_kept_and_marked_disconnect(
        crawled: Vigil, site: SiteServer) -> None:
    _, record = response_record(crawled, site.url("/cut-short"))
    assert record.rec_headers.get_header("WARC-Truncated") == "disconnect"
    assert record.body == b"x" * 1200


def test_refused_reset_and_timed_out_fetches_are_recorded_and_the_crawl_goes_on(
        crawled: Vigil, site: SiteServer) -> None:
    with sqlite3.connect(crawled.home / "vigil.db") as conn:
        errors = dict(conn.execute("SELECT url, error FROM failures"))
    assert "ConnectionRefused" in errors[crawled.dead]
    assert site.url("/reset") in errors
    assert "Timeout" in errors[site.url("/slow")]
    assert crawled.summary["failures"] == len(errors)
    assert crawled.summary["status"] == "finished"
    text = crawled.run("history", crawled.dead).stdout.decode()
    assert "failed" in text


def test_robots_txt_is_obeyed_by_default_and_the_refusal_recorded(
        crawled: Vigil, site: SiteServer) -> None:
    assert "/private/leak" not in site.requests
    history = crawled.run("history", site.url("/private/leak")).stdout.decode()
    assert "RobotsTxtDisallowed" in history


def test_ignore_robots_captures_what_robots_txt_disallows(vigil: Vigil) -> None:
    routes = awkward_routes()
    routes["/article"] = Resource(ARTICLE.format(links='<a href="/private/leak">l</a>').encode())
    with SiteServer(routes, host="127.0.0.5") as site:
        vigil.run("add", site.url("/article"), "--ignore-robots")
        vigil.crawl()
        assert vigil.get(site.url("/private/leak")) == b"<p>leaked</p>"


def test_history_json_has_the_documented_fields(crawled: Vigil, site: SiteServer) -> None:
    [entry] = crawled.json("history", site.url("/identity"))
    assert set(entry) >= {"timestamp", "status", "digest", "warc", "offset", "length", "revisit"}
    assert entry["timestamp"].endswith("Z") and len(entry["timestamp"]) == 20
    assert entry["digest"].startswith("sha256:") and len(entry["digest"]) == 71
    assert (crawled.home / entry["warc"]).exists()
    assert isinstance(entry["offset"], int) and isinstance(entry["length"], int)
    assert entry["revisit"] is False


def test_the_index_points_at_records_that_are_in_the_warc(
        crawled: Vigil, site: SiteServer) -> None:
    with sqlite3.connect(crawled.home / "vigil.db") as conn:
        rows = conn.execute("SELECT target_uri, warc, offset FROM captures").fetchall()
    assert len(rows) > 15
    for uri, warc, offset in rows:
        with open(Path(crawled.home, "warcs", warc), "rb") as handle:
            handle.seek(offset)
            record = next(iter(ArchiveIterator(handle)))
        assert record.rec_type == "response"
        assert record.rec_headers.get_header("WARC-Target-URI") == uri


def test_a_records_date_is_when_its_request_was_sent_not_when_its_body_arrived(
        vigil: Vigil) -> None:
    received: list[float] = []

    def slow_body(handler: BaseHTTPRequestHandler) -> None:
        received.append(time.time())
        body = b"<html><body><p>The body comes a second and a half later.</p></body></html>"
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.flush()
        time.sleep(1.5)  # the server's own pace: a slow body after prompt headers
        handler.wfile.write(body)

    with SiteServer({"/slow/": slow_body}, host="127.0.0.2") as site:
        vigil.run("add", site.url("/slow/"), "--ignore-robots")
        vigil.crawl()
    with open(vigil.warcs[0], "rb") as handle:
        dates = [r.rec_headers.get_header("WARC-Date") for r in ArchiveIterator(handle)
                 if r.rec_type == "response"
                 and r.rec_headers.get_header("WARC-Target-URI") == site.url("/slow/")]
    [date] = [datetime.fromisoformat(d.replace("Z", "+00:00")).timestamp() for d in dates]
    # Sent before the server had it, and not a second and a half later.
    assert date <= received[0] < date + 1.0
