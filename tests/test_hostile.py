"""A catalogue of hostile and broken sites: each URL is archived or recorded, in bounded memory."""

from __future__ import annotations

import contextlib
import functools
import json
import socket
import socketserver
import sqlite3
import struct
import subprocess
import sys
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from bombs import brotli_bomb, deflate_bomb, gzip_bomb

from archive.urls import normalize_url
from conftest import FAST, Vigil, check_archive
from spiders.failures import Reason

MIB = 1 << 20
# The crawl process's high-water mark, whatever the pages: a bomb is measured in pieces
# that are let go, never decoded whole up to its 200 MiB cap (about 90 MB here).
PEAK_RSS_KB = 300_000

Responder = Callable[[socket.socket, "Request"], None]


@dataclass
class Request:
    path: str
    head: bytes


class Hostile(socketserver.ThreadingTCPServer):
    """A raw-socket HTTP server on loopback: each route writes whatever bytes it likes."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, routes: dict[str, Responder], host: str = "127.0.0.2") -> None:
        self.routes = routes
        self.hits: Counter[str] = Counter()
        self.heads: dict[str, bytes] = {}
        self.stopping = threading.Event()
        super().__init__((host, 0), _Handler)

    def url(self, path: str) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}{path}"

    def responder(self, path: str) -> Responder:
        if path in self.routes:
            return self.routes[path]
        for prefix, route in self.routes.items():
            if prefix.endswith("*") and path.startswith(prefix[:-1]):
                return route
        return lambda conn, request: conn.sendall(response(404, b"not here"))


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server = self.server
        assert isinstance(server, Hostile)
        conn: socket.socket = self.request
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            head += data
        path = head.split(b" ", 2)[1].decode("latin-1") if head.count(b" ") >= 2 else "/"
        server.hits[path] += 1
        server.heads[path] = head
        with contextlib.suppress(OSError):  # the crawler hung up: a drip or a reset ends
            server.responder(path)(conn, Request(path, head))


def response(status: int | bytes, body: bytes, *headers: tuple[str, str],
             content_type: str = "text/html", length: bool = True) -> bytes:
    line = status if isinstance(status, bytes) else f"HTTP/1.1 {status} X".encode()
    fields = [("Content-Type", content_type), *headers, ("Connection", "close")]
    if length:
        fields.append(("Content-Length", str(len(body))))
    return line + b"\r\n" + b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in fields) \
        + b"\r\n" + body


def send(data: bytes) -> Responder:
    return lambda conn, request: conn.sendall(data)


def page(*links: str, requisites: tuple[str, ...] = (), text: str = "A page.") -> bytes:
    anchors = "".join(f'<a href="{u}">link</a> ' for u in links)
    images = "".join(f'<img src="{u}">' for u in requisites)
    return (f"<html><body><article><h1>Page</h1><p>{text}</p>{images}{anchors}"
            f"</article></body></html>").encode()


def html(body: bytes, *headers: tuple[str, str]) -> Responder:
    return send(response(200, body, *headers))


# -- bombs ----------------------------------------------------------------------------
@functools.cache
def bombs() -> dict[str, Responder]:
    gz, br, fl = gzip_bomb(1024), brotli_bomb(512), deflate_bomb(1024)
    nested = zlib.compress(gz, 9)
    wbits = zlib.compressobj(9, zlib.DEFLATED, 31)
    nested_gzip = wbits.compress(gz) + wbits.flush()
    return {
        "/gzip-bomb": html(gz, ("Content-Encoding", "gzip")),
        "/br-bomb": html(br, ("Content-Encoding", "br")),
        "/deflate-bomb": html(fl, ("Content-Encoding", "deflate")),
        "/nested-bomb": html(nested, ("Content-Encoding", "gzip, deflate")),
        "/double-gzip-bomb": html(nested_gzip, ("Content-Encoding", "gzip"),
                                  ("Content-Encoding", "gzip")),
        "/bomb.css": send(response(200, gz, ("Content-Encoding", "gzip"),
                                   content_type="text/css")),
    }


# -- traps ----------------------------------------------------------------------------
def link_trap(conn: socket.socket, request: Request) -> None:
    """Every page links twenty pages never seen before."""
    n = int(request.path.rsplit("/", 1)[1] or 0)
    conn.sendall(response(200, page(*(f"/maze/{n * 20 + i + 1}" for i in range(20)))))


def redirect_chain(conn: socket.socket, request: Request) -> None:
    n = int(request.path.rsplit("/", 1)[1])
    conn.sendall(response(302, b"", ("Location", f"/hop/{n + 1}")))


def import_chain(conn: socket.socket, request: Request) -> None:
    n = int(request.path.rsplit("/", 1)[1].split(".")[0])
    conn.sendall(response(200, f"@import url(/css/{n + 1}.css);\nbody {{ margin: {n}px }}"
                          .encode(), content_type="text/css"))


# -- malformed HTTP -----------------------------------------------------------------------
def reset(conn: socket.socket, request: Request) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf")
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def set_cookies(conn: socket.socket, request: Request) -> None:
    """A thousand cookies of 100 bytes, then a requisite that shows what came back."""
    cookies = [("Set-Cookie", f"c{i}={'x' * 96}; Path=/") for i in range(1000)]
    cookies.append(("Set-Cookie", f"huge={'y' * 5000}; Path=/"))
    conn.sendall(response(200, page(requisites=("/after-cookies",)), *cookies))


def malformed() -> dict[str, Responder]:
    body = page(text="Some text.")
    return {
        "/bad-status": send(b"HTTP/1.1 abc Broken\r\nContent-Length: 2\r\n\r\nok"),
        "/garbage": send(bytes(range(256)) * 8),
        "/http09": send(b"<html><body>no status line</body></html>"),
        "/empty": send(b""),
        "/status-999": send(response(b"HTTP/1.1 999 Weird", body)),
        "/odd-reason": send(response(b"HTTP/1.1 200 \xe9t\xe9 \xff", body)),
        "/no-reason": send(response(b"HTTP/1.1 200", body)),
        "/dup-length": send(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 50\r\n"
                            b"Connection: close\r\n\r\nhello"),
        "/dup-headers": send(response(200, body, *[("X-Dup", str(i)) for i in range(200)])),
        "/huge-header": send(response(200, body, ("X-Huge", "h" * 200_000))),
        "/many-headers": send(response(200, body, *[(f"X-H{i}", "v") for i in range(5000)])),
        "/null-header": send(b"HTTP/1.1 200 OK\r\nX-Null: a\x00b\r\nContent-Length: 2\r\n"
                             b"Connection: close\r\n\r\nok"),
        "/bad-chunk": send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                           b"Connection: close\r\n\r\n5\r\nhello\r\nzz\r\nbroken\r\n0\r\n\r\n"),
        "/chunk-overflow": send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                b"ffffffffffffffffff\r\nabc"),
        "/short-body": send(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                            b"Content-Length: 1000\r\n\r\n<p>cut</p>"),
        "/long-body": send(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                           b"Content-Length: 10\r\nConnection: close\r\n\r\n" + b"x" * 1000),
        "/no-length": send(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                           b"Connection: close\r\n\r\n" + body),
        "/bad-gzip": html(b"\x1f\x8bnot gzip at all", ("Content-Encoding", "gzip")),
        "/unknown-coding": html(b"data", ("Content-Encoding", "zz-unknown")),
        "/reset": reset,
        "/set-cookies": set_cookies,
        "/after-cookies": send(response(200, b"seen", content_type="image/png")),
    }


# -- slow drips ---------------------------------------------------------------------------
def drip(head: bytes, every: float = 0.2) -> Responder:
    """``head`` at once, then a byte every ``every`` seconds until the crawler hangs up."""
    def responder(conn: socket.socket, request: Request) -> None:
        conn.sendall(head)
        wait = threading.Event()
        while not wait.wait(every):
            conn.sendall(b"x")
    return responder


def stall(conn: socket.socket, request: Request) -> None:
    """Read the request, answer nothing, until the crawler hangs up."""
    conn.settimeout(30)
    conn.recv(1)


def drips() -> dict[str, Responder]:
    return {
        "/drip-body": drip(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                           b"Content-Length: 100000\r\n\r\n"),
        "/drip-headers": drip(b"HTTP/1.1 200 OK\r\nX-Slow: "),
        "/stall": stall,
    }


@dataclass
class Group:
    """One crawl of a seed linking some cases; ``expect`` maps a URL's path to the reason
    its failure row must give, or to ``ARCHIVED`` when a capture must exist."""

    routes: Callable[[], dict[str, Responder]]
    links: tuple[str, ...] = ()
    requisites: tuple[str, ...] = ()
    expect: dict[str, str] = field(default_factory=dict)
    settings: tuple[str, ...] = ()
    depth: int = 1
    check: Callable[[Hostile, dict[str, Any]], list[str]] = lambda server, result: []


ARCHIVED = "archived"
FLOOD = 30_000
LONG_URL = "/long/" + "a" * 10_000


def maze_bounds(server: Hostile, result: dict[str, Any]) -> list[str]:
    problems = []
    maze = sum(n for p, n in server.hits.items() if p.startswith("/maze/"))
    if maze > 50:
        problems.append(f"the link trap was fetched {maze} times (page budget 50)")
    if not any(error == Reason.BUDGET and "/maze/" in url
               for url, error in result["failures"].items()):
        problems.append("no budget failure row for the link trap")
    return problems


def flood_bounds(server: Hostile, result: dict[str, Any]) -> list[str]:
    dropped = result["stats"].get("crawl/refused/budget/links-per-page")
    if dropped != FLOOD - 10_000:
        return [f"{dropped} of a page's {FLOOD} links dropped, not {FLOOD - 10_000}"]
    if sum(server.hits.values()) > 32:
        return [f"{sum(server.hits.values())} requests with a page budget of 30"]
    return []


def trap_bounds(server: Hostile, result: dict[str, Any]) -> list[str]:
    problems = []
    imports = sum(n for p, n in server.hits.items() if p.startswith("/css/"))
    if imports > 9:
        problems.append(f"the @import chain was followed {imports} times")
    hops = sum(n for p, n in server.hits.items() if p.startswith("/hop/"))
    if hops > 12:
        problems.append(f"the redirect chain was followed {hops} times")
    if not any(error == Reason.REDIRECT_LIMIT and "/hop/" in url
               for url, error in result["failures"].items()):
        problems.append("no redirect-limit failure row for the redirect chain")
    if not any(error == Reason.BUDGET and "/css/" in url
               for url, error in result["failures"].items()):
        problems.append("no budget failure row for the @import chain")
    return problems


def cookie_bounds(server: Hostile, result: dict[str, Any]) -> list[str]:
    head = server.heads.get("/after-cookies", b"")
    cookie = [line for line in head.split(b"\r\n") if line.lower().startswith(b"cookie:")]
    size = sum(len(line) for line in cookie)
    if not head or size > 8300:
        return [f"the request after 1,000 cookies carried {size} bytes of Cookie"]
    if b"huge=" in head:
        return ["a 5,000-byte cookie was sent back"]
    return []


GROUPS = {
    "bombs": Group(bombs, links=("/gzip-bomb", "/br-bomb", "/deflate-bomb", "/nested-bomb",
                                 "/double-gzip-bomb"),
                   requisites=("/bomb.css",),
                   expect={p: Reason.DECODE_CAP for p in (
                       "/gzip-bomb", "/br-bomb", "/deflate-bomb", "/nested-bomb",
                       "/double-gzip-bomb", "/bomb.css")}),
    "maze": Group(lambda: {"/maze/*": link_trap}, links=("/maze/0",), depth=1000,
                  settings=("-s", "CRAWL_SOURCE_MAX_PAGES=50"), check=maze_bounds),
    "flood": Group(lambda: {"/seed": html(page(*(f"/f/{i}" for i in range(FLOOD))))},
                   settings=("-s", "CRAWL_SOURCE_MAX_PAGES=30"), check=flood_bounds),
    "traps": Group(lambda: {"/hop/*": redirect_chain, "/css/*": import_chain,
                            "/loop-a": send(response(302, b"", ("Location", "/loop-b"))),
                            "/loop-b": send(response(302, b"", ("Location", "/loop-a")))},
                   links=("/hop/1", "/loop-a", LONG_URL), requisites=("/css/1.css",),
                   expect={"/loop-a": ARCHIVED, "/loop-b": ARCHIVED,
                           LONG_URL: Reason.TOO_LONG_URL},
                   check=trap_bounds),
    "malformed": Group(malformed, links=tuple(p for p in malformed() if p != "/after-cookies"),
                       expect={"/short-body": ARCHIVED, "/long-body": ARCHIVED,
                               "/no-length": ARCHIVED, "/status-999": ARCHIVED,
                               "/odd-reason": ARCHIVED, "/set-cookies": ARCHIVED,
                               "/after-cookies": ARCHIVED, "/dup-headers": ARCHIVED},
                       check=cookie_bounds),
    "drips": Group(drips, links=tuple(drips()), settings=("-s", "DOWNLOAD_TIMEOUT=2")),
}


def outcomes(home: Path) -> tuple[set[str], dict[str, str]]:
    with sqlite3.connect(home / "vigil.db") as conn:
        captured = {url for (url,) in conn.execute("SELECT url FROM captures")}
        failures = dict(conn.execute("SELECT url, error FROM failures"))
    return captured, failures


def warcio_check(home: Path) -> None:
    """Every WARC passes warcio's check, its brotli reader fixed (archive/warcio_brotli.py)
    until warcio's own works with brotli 1.2."""
    for warc in sorted((home / "warcs").glob("*.warc.gz")):
        done = subprocess.run([sys.executable, "-m", "archive.warcio_brotli", "check",
                               str(warc)], capture_output=True, text=True)
        assert done.returncode == 0, f"warcio check {warc.name}:\n{done.stdout}{done.stderr}"


@pytest.fixture
def hostile(request: pytest.FixtureRequest) -> Iterator[tuple[Hostile, Group]]:
    group = GROUPS[request.param]
    server = Hostile(dict(group.routes()))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, group
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("hostile", list(GROUPS), indirect=True)
def test_every_hostile_url_is_archived_or_recorded_in_bounded_memory(
        tmp_path: Path, hostile: tuple[Hostile, Group]) -> None:
    server, group = hostile
    vigil = Vigil(tmp_path / "home")
    seed = "/seed"
    server.routes.setdefault(seed, html(page(*group.links, requisites=group.requisites)))
    vigil.run("add", server.url(seed), "--depth", str(group.depth), "--ignore-robots")
    summary = vigil.json("crawl", *FAST, *group.settings)
    assert summary["status"] == "finished", summary
    assert summary["peak_rss_kb"] < PEAK_RSS_KB, summary["peak_rss_kb"]
    captured, failures = outcomes(vigil.home)
    with sqlite3.connect(vigil.home / "vigil.db") as conn:
        stats = json.loads(conn.execute("SELECT stats FROM crawls").fetchone()[0])
    problems = []
    for path in (*group.links, *group.requisites, *group.expect):
        url = normalize_url(server.url(path))
        if url not in captured and url not in failures:
            problems.append(f"{path[:40]}: neither archived nor recorded")
        want = group.expect.get(path)
        if want == ARCHIVED and url not in captured:
            problems.append(f"{path[:40]}: not archived ({failures.get(url)})")
        elif want not in (None, ARCHIVED) and failures.get(url) != want:
            problems.append(f"{path[:40]}: failure {failures.get(url)!r}, not {want!r}")
    problems += group.check(server, {"captured": captured, "failures": failures,
                                     "stats": stats})
    assert not problems, "\n".join(problems)
    if any(p.startswith("/br-") for p in group.links):
        warcio_check(vigil.home)  # plain warcio cannot read brotli 1.2 records yet
    else:
        check_archive(vigil.home)


def test_the_crawl_after_a_hostile_site_still_archives_a_plain_page(vigil: Vigil) -> None:
    server = Hostile({**bombs(), "/seed": html(page("/gzip-bomb", "/ok")),
                      "/ok": html(page(text="Fine."))})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        vigil.run("add", server.url("/seed"), "--ignore-robots")
        vigil.json("crawl", *FAST, "-s", "CRAWL_DECODE_CAP=1000000")
        captured, failures = outcomes(vigil.home)
    finally:
        server.shutdown()
        server.server_close()
    assert normalize_url(server.url("/ok")) in captured
    assert failures[normalize_url(server.url("/gzip-bomb"))] == Reason.DECODE_CAP
    check_archive(vigil.home)
