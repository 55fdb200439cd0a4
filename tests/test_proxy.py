"""Through an HTTP proxy, a page still cannot make the crawl reach inside the network."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from test_ssrf import CountingServer, captured, failures

from archive.urls import normalize_url
from conftest import FAST, Vigil
from crawler.demo.siteserver import Resource, SiteServer
from spiders.failures import Reason


class ForwardProxy(ThreadingHTTPServer):
    """A plain HTTP forward proxy on loopback: it fetches the absolute URL it is asked for
    (resolving the name itself) and relays the answer; ``seen`` lists those URLs."""

    daemon_threads = True

    def __init__(self, host: str = "127.0.0.4") -> None:
        self.seen: list[str] = []
        super().__init__((host, 0), _Forward)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _Forward(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        server = self.server
        assert isinstance(server, ForwardProxy)
        server.seen.append(self.path)
        target = urlsplit(self.path)
        upstream = http.client.HTTPConnection(target.hostname or "", target.port or 80,
                                              timeout=10)
        try:
            upstream.request("GET", target.path or "/", headers={"Host": target.netloc})
            answer = upstream.getresponse()
            body = answer.read()
        except OSError:
            self.send_error(502)
            return
        finally:
            upstream.close()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def proxied(monkeypatch: pytest.MonkeyPatch) -> Iterator[ForwardProxy]:
    """The crawl's HTTP_PROXY is a forward proxy on 127.0.0.4."""
    proxy = ForwardProxy()
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    for name in ("no_proxy", "NO_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", proxy.url)
    yield proxy
    proxy.shutdown()
    proxy.server_close()


@pytest.fixture
def internal() -> Iterator[CountingServer]:
    """The "internal" server on 127.0.0.1, which ``localhost`` names."""
    server = CountingServer("127.0.0.1")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def news(internal: CountingServer) -> Iterator[tuple[SiteServer, str]]:
    """A page on 127.0.0.2 citing the internal server by a name (a literal address is
    refused before any proxy is asked)."""
    secret = f"http://localhost:{internal.port}/secret"
    page = (f'<html><body><article><h1>Seed</h1><p>Text.</p><a href="{secret}">cited</a>'
            f"</article></body></html>").encode()
    with SiteServer({"/seed": Resource(page)}, host="127.0.0.2") as site:
        yield site, secret


def test_a_name_of_an_internal_address_is_refused_before_the_proxy_is_asked(
        tmp_path: Path, proxied: ForwardProxy, internal: CountingServer,
        news: tuple[SiteServer, str]) -> None:
    site, secret = news
    vigil = Vigil(tmp_path / "home")
    vigil.run("add", site.url("/seed"), "--depth", "1")
    summary = vigil.json("crawl", *FAST)
    assert summary["status"] == "finished", summary
    assert site.url("/seed") in proxied.seen, "the crawl went through the proxy"
    assert site.url("/seed") in captured(vigil)
    assert secret not in proxied.seen, "the proxy was never asked for it"
    assert internal.connections == 0
    error, message = failures(vigil)[normalize_url(secret)]
    assert error == Reason.DESTINATION_REFUSED, message
    assert "localhost" in message and "CRAWL_ALLOW_NETWORKS" in message, message


def test_allowed_networks_are_fetched_through_the_proxy(
        tmp_path: Path, proxied: ForwardProxy, internal: CountingServer,
        news: tuple[SiteServer, str]) -> None:
    site, secret = news
    vigil = Vigil(tmp_path / "home")
    vigil.run("add", site.url("/seed"), "--depth", "1")
    summary = vigil.json("crawl", *FAST, "-s", "CRAWL_ALLOW_NETWORKS=127.0.0.0/8")
    assert summary["status"] == "finished", summary
    assert secret in proxied.seen
    assert internal.connections >= 1  # its robots.txt too
    assert normalize_url(secret) in captured(vigil)
