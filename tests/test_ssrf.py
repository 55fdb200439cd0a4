"""A page cannot make the crawl reach inside the network: only a source's own host is trusted."""

from __future__ import annotations

import gzip
import ipaddress
import json
import os
import socket
import socketserver
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from scrapy.settings import Settings

from archive.urls import normalize_url
from conftest import FAST, Vigil, free_port, send_html
from crawler.crawl.destinations import (
    DestinationPolicy,
    InvalidNetwork,
    literal_address,
    parse_networks,
)
from crawler.demo.siteserver import Resource, SiteServer
from spiders.failures import Reason

INTERNAL = "127.0.0.3"


class CountingServer(socketserver.ThreadingTCPServer):
    """An "internal" HTTP server that counts every connection made to it."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str) -> None:
        self.connections = 0
        self.lock = threading.Lock()
        super().__init__((host, 0), _Secret)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _Secret(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        server = self.server
        assert isinstance(server, CountingServer)
        with server.lock:
            server.connections += 1
        self.rfile.readline()
        body = b"<html><body><p>internal secret</p></body></html>"
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)


@pytest.fixture
def internal() -> Iterator[CountingServer]:
    server = CountingServer(INTERNAL)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def internal_urls(port: int) -> dict[str, str]:
    """Ways a page can name the internal server (and loopback), by kind of link."""
    return {
        "cited": f"http://{INTERNAL}:{port}/secret",
        "integer": f"http://2130706435:{port}/integer",  # 127.0.0.3 as one number
        "hex": f"http://0x7f.0.0.3:{port}/hex",
        "mapped": f"http://[::ffff:{INTERNAL}]:{port}/mapped",
        "localhost": f"http://localhost:{port}/localhost",
        "ipv6-loopback": f"http://[::1]:{port}/ipv6",
        "requisite": f"http://{INTERNAL}:{port}/pixel.png",
        "redirect": f"http://{INTERNAL}:{port}/redirected",
    }


@pytest.fixture
def citing(internal: CountingServer) -> Iterator[tuple[SiteServer, dict[str, str]]]:
    """A news page on 127.0.0.2 citing the internal server every way above, with a port
    99999 link and a broken IPv6 link among them, and an article of its own."""
    urls = internal_urls(internal.port)
    referers: dict[str, str | None] = {}

    def article(handler: BaseHTTPRequestHandler) -> None:
        referers[handler.path] = handler.headers.get("Referer")
        send_html(handler, b"<html><body><article><p>Own article.</p></article></body></html>")

    links = "".join(f'<a href="{u}">{k}</a> ' for k, u in urls.items()
                    if k not in ("requisite", "redirect"))
    page = (f"<html><body><article><h1>Seed</h1><p>Text of the seed.</p>"
            f'<img src="{urls["requisite"]}">'
            f'<a href="http://example.invalid:99999/bad-port">bad port</a> '
            f'<a href="http://[::1/broken">broken</a> {links}'
            f'<a href="/go">redirect</a> <a href="/story/own">own</a>'
            f"</article></body></html>").encode()
    routes: dict[str, Any] = {
        "/seed": Resource(page),
        "/go": Resource(b"", status=302, headers=[("Location", urls["redirect"])]),
        "/story/own": article,
    }
    with SiteServer(routes, host="127.0.0.2") as news:
        news.referers = referers  # type: ignore[attr-defined]
        yield news, urls


def failures(vigil: Vigil) -> dict[str, tuple[str, str]]:
    with sqlite3.connect(vigil.home / "vigil.db") as conn:
        return {url: (error, message) for url, error, message in
                conn.execute("SELECT url, error, message FROM failures")}


def captured(vigil: Vigil) -> set[str]:
    with sqlite3.connect(vigil.home / "vigil.db") as conn:
        return {url for (url,) in conn.execute("SELECT url FROM captures")}


def test_a_page_citing_an_internal_server_never_reaches_it(
        vigil: Vigil, citing: tuple[SiteServer, dict[str, str]],
        internal: CountingServer) -> None:
    news, urls = citing
    vigil.run("add", news.url("/seed"), "--depth", "1")
    summary = vigil.json("crawl", *FAST)
    assert summary["status"] == "finished"
    assert internal.connections == 0
    refused = failures(vigil)
    # The redirect's own 302 is archived; the request it led to is refused.
    assert news.url("/go") in captured(vigil)
    for kind, url in urls.items():
        assert normalize_url(url) in refused, (kind, sorted(refused))
        error, message = refused[normalize_url(url)]
        assert error == Reason.DESTINATION_REFUSED, (kind, error, message)
        assert "not a public address" in message and "CRAWL_ALLOW_NETWORKS" in message, message
    # The source itself, its own article and its probe were fetched: malformed links
    # stopped nothing.
    assert news.url("/story/own") in captured(vigil)
    assert news.url("/seed") in captured(vigil)
    assert not any(u.startswith(f"http://{INTERNAL}") for u in captured(vigil))
    with sqlite3.connect(vigil.home / "vigil.db") as conn:
        stats = json.loads(conn.execute("SELECT stats FROM crawls").fetchone()[0])
    assert stats["crawl/refused/malformed-url"] >= 1  # the port 99999 link


def test_allowed_networks_let_a_page_cite_a_loopback_site_without_a_referer(
        vigil: Vigil, citing: tuple[SiteServer, dict[str, str]],
        internal: CountingServer) -> None:
    news, urls = citing
    vigil.run("add", news.url("/seed"), "--depth", "1")
    summary = vigil.json("crawl", *FAST, "-s", "CRAWL_ALLOW_NETWORKS=127.0.0.0/8")
    assert summary["status"] == "finished"
    assert internal.connections > 0
    assert urls["cited"] in captured(vigil)
    assert urls["requisite"] in captured(vigil)
    # Within its own site a request names the page it was found on.
    assert news.referers["/story/own"] == news.url("/seed")  # type: ignore[attr-defined]


def test_allowed_networks_can_be_set_in_the_home_s_config(
        vigil: Vigil, citing: tuple[SiteServer, dict[str, str]],
        internal: CountingServer) -> None:
    news, urls = citing
    vigil.home.mkdir(parents=True)
    (vigil.home / "vigil.toml").write_text('[crawl]\nallow_networks = ["127.0.0.3/32"]\n')
    vigil.run("add", news.url("/seed"))
    vigil.json("crawl", *FAST)
    assert urls["cited"] in captured(vigil)
    assert failures(vigil)[normalize_url(urls["ipv6-loopback"])][0] == \
        Reason.DESTINATION_REFUSED


def test_the_internal_server_sees_no_referer_when_allowed(
        vigil: Vigil, internal: CountingServer) -> None:
    seen: list[str | None] = []

    def page(handler: BaseHTTPRequestHandler) -> None:
        seen.append(handler.headers.get("Referer"))
        send_html(handler, b"<p>outside</p>")

    with SiteServer({"/cited": page}, host="127.0.0.4") as outside:
        seed = (f'<html><body><article><p>Seed.</p><a href="{outside.url("/cited")}">c</a>'
                f"</article></body></html>").encode()
        with SiteServer({"/seed": Resource(seed, headers=[
                ("Referrer-Policy", "unsafe-url")])}, host="127.0.0.2") as news:
            vigil.run("add", news.url("/seed"))
            vigil.json("crawl", *FAST, "-s", "CRAWL_ALLOW_NETWORKS=127.0.0.4/32")
    assert seen == [None]


def test_a_source_on_loopback_is_trusted_with_its_own_host_and_port(
        vigil: Vigil) -> None:
    with SiteServer({"/seed": Resource(b"<p>seed</p>")}, host="127.0.0.2") as news:
        vigil.run("add", news.url("/seed"))
        summary = vigil.json("crawl", *FAST)
    assert summary["pages"] >= 1
    assert news.url("/seed") in captured(vigil)


def test_a_name_is_judged_by_the_address_it_resolves_to_when_connecting(
        vigil: Vigil, internal: CountingServer) -> None:
    """A name whose DNS answers an internal address (as a rebinding attacker's does once
    the page is read) is refused on that answer; allowed, the same name is fetched."""
    url = f"http://intranet.test:{internal.port}/secret"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).parent / "dns"), *sys.path])}
    with SiteServer({"/seed": Resource(page_with(f'<a href="{url}">c</a>'))},
                    host="127.0.0.2") as news:
        vigil.run("add", news.url("/seed"))
        for allow in ("", "127.0.0.3/32"):
            subprocess.run([sys.executable, "-m", "crawler.cli", "--home", str(vigil.home),
                            "crawl", *FAST, "-s", "TWISTED_DNS_RESOLVER="
                            "rebinding_dns.InternalNames", "-s",
                            f"CRAWL_ALLOW_NETWORKS={allow}"], env=env, check=True,
                           capture_output=True, timeout=120)
            if not allow:
                assert internal.connections == 0
                error, message = failures(vigil)[normalize_url(url)]
                assert error == Reason.DESTINATION_REFUSED
                assert message.startswith("intranet.test resolves to 127.0.0.3: "), message
    assert internal.connections > 0
    assert normalize_url(url) in captured(vigil)


def test_no_link_redirect_or_refresh_reads_a_local_file(vigil: Vigil) -> None:
    refresh = b'<html><head><meta http-equiv="refresh" content="0;url=file:///etc/passwd">'
    seed = page_with('<a href="file:///etc/passwd">f</a> <a href="/to-file">r</a> '
                     '<a href="/refresh">m</a> <img src="file:///etc/hostname">')
    routes = {"/seed": Resource(seed),
              "/to-file": Resource(b"", status=302, headers=[("Location", "file:///etc/passwd")]),
              "/refresh": Resource(refresh + b"</head><body><p>x</p></body></html>")}
    with SiteServer(routes, host="127.0.0.2") as news:
        vigil.run("add", news.url("/seed"), "--depth", "1")
        vigil.json("crawl", *FAST)
    assert news.url("/refresh") in captured(vigil)
    assert not [u for u in captured(vigil) if not u.startswith("http")]
    for warc in vigil.warcs:
        assert b"root:x:0:0" not in gzip.decompress(warc.read_bytes())


def page_with(links: str) -> bytes:
    return f"<html><body><article><p>Seed.</p>{links}</article></body></html>".encode()


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
    "0.0.0.0", "224.0.0.1", "240.0.0.1", "255.255.255.255", "192.0.2.1", "198.18.0.1",
    "::1", "::", "fe80::1", "fc00::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
    "64:ff9b::a00:1", "2002:7f00:1::1", "2001:db8::1", "fe80::1%eth0",
])
def test_addresses_that_are_not_public_are_refused(address: str) -> None:
    assert DestinationPolicy().refusal(address) is not None


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert DestinationPolicy().refusal(address) is None


def test_allowed_networks_cover_their_addresses_in_either_family() -> None:
    settings = Settings({"CRAWL_ALLOW_NETWORKS": "127.0.0.0/8, 10.0.0.0/8"})
    policy = DestinationPolicy.from_settings(settings)
    assert policy.refusal("127.0.0.9") is None
    assert policy.refusal("::ffff:127.0.0.9") is None
    assert policy.refusal("10.9.9.9") is None
    assert policy.refusal("192.168.0.1") is not None
    assert DestinationPolicy.from_settings(Settings({"CRAWL_ALLOW_NETWORKS": ["::1"]})) \
        .refusal("::1") is None


def test_a_network_that_is_not_a_cidr_is_refused_before_a_crawl(vigil: Vigil) -> None:
    with pytest.raises(InvalidNetwork):
        parse_networks(["127.0.0.0/33"])
    result = vigil.run("crawl", "-s", "CRAWL_ALLOW_NETWORKS=localhost", ok=False)
    assert result.returncode != 0
    assert b"CRAWL_ALLOW_NETWORKS" in result.stderr
    assert b"Traceback" not in result.stderr


@pytest.mark.parametrize(("host", "address"), [
    ("2130706433", "127.0.0.1"), ("0x7f.1", "127.0.0.1"), ("0177.0.0.1", "127.0.0.1"),
    ("127.1", "127.0.0.1"), ("[::1]", "::1"), ("10.0.0.1", "10.0.0.1"),
    ("0x7f000001", "127.0.0.1"),
])
def test_hosts_written_as_numbers_are_read_as_their_address(host: str, address: str) -> None:
    assert literal_address(host) == ipaddress.ip_address(address)
    if ":" not in address:
        assert socket.inet_aton(host) == ipaddress.ip_address(address).packed


@pytest.mark.parametrize("host", ["example.com", "127.0.0.1.example.com", "1.2.3.4.5",
                                  "256.1.1.1", "0x1g.1"])
def test_host_names_are_not_addresses(host: str) -> None:
    assert literal_address(host) is None


def _crawl_linking_a_gone_host(vigil: Vigil, tmp_path: Path, **env: str,
                               ) -> tuple[list[str], set[str]]:
    """A seed that links four URLs of a name that has no address, crawled with a resolver
    that notes each lookup of it: the lookups, and the failure rows of its URLs."""
    log = tmp_path / "lookups"
    links = "".join(f'<a href="http://gone.invalid/{n}">c{n}</a>' for n in range(4))
    env = {**os.environ, "VIGIL_TEST_DNS_LOG": str(log), "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).parent / "dns"), *sys.path]), **env}
    with SiteServer({"/seed": Resource(page_with(links))}, host="127.0.0.2") as news:
        vigil.run("add", news.url("/seed"))
        subprocess.run([sys.executable, "-m", "crawler.cli", "--home", str(vigil.home),
                        "crawl", *FAST, "-s", "TWISTED_DNS_RESOLVER="
                        "rebinding_dns.CountedFailures"], env=env, check=True,
                       capture_output=True, timeout=120)
    return log.read_text().split(), {u for u in failures(vigil) if "gone.invalid" in u}


def test_a_name_with_no_address_is_looked_up_once_per_crawl(vigil: Vigil,
                                                            tmp_path: Path) -> None:
    """Its robots.txt, each of its URLs and each retry would each ask again, and a lookup
    that fails can take the resolver's whole timeout."""
    lookups, gone = _crawl_linking_a_gone_host(vigil, tmp_path)
    assert lookups == ["gone.invalid"]
    assert len(gone) == 4, failures(vigil)


def test_through_a_proxy_a_name_with_no_address_is_looked_up_once_per_crawl_too(
        vigil: Vigil, tmp_path: Path) -> None:
    # vigil resolves a found URL's name itself before a proxy is asked (the proxy would
    # resolve it): that lookup keeps the same note of names that have no address.
    lookups, gone = _crawl_linking_a_gone_host(
        vigil, tmp_path, http_proxy=f"http://127.0.0.3:{free_port('127.0.0.3')}",
        no_proxy="127.0.0.2")
    assert lookups == ["gone.invalid"]
    assert len(gone) == 4, failures(vigil)
