"""A small loopback HTTP server for the demo replica site and the tests' misbehaving sites."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Resource:
    """A canned response; ``gzip`` compresses it when the client accepts gzip."""

    body: bytes | Callable[[], bytes]
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    gzip: bool = False

    def payload(self) -> bytes:
        return self.body() if callable(self.body) else self.body


# A route is a Resource, or a function that writes the whole response itself.
Handler = Callable[[BaseHTTPRequestHandler], None]
Route = Resource | Handler


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test and demo output clean

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        self.server.requests.append(self.path)
        route = self.server.routes.get(self.path) or self.server.routes.get(path)
        if route is None:
            route = self.server.routes.get("*") or Resource(b"<h1>Not found</h1>", status=404)
        if isinstance(route, Resource):
            self.send_resource(route)
        else:
            route(self)

    def record_sent(self, payload: bytes) -> None:
        """Remember the payload (before content coding) sent for this request's path."""
        self.server.sent.setdefault(self.path, []).append(payload)

    def send_resource(self, resource: Resource) -> None:
        body = resource.payload()
        self.record_sent(body)
        accepts_gzip = "gzip" in self.headers.get("Accept-Encoding", "")
        self.send_response(resource.status)
        self.send_header("Content-Type", resource.content_type)
        for name, value in resource.headers:
            self.send_header(name, value)
        if resource.gzip and accepts_gzip:
            body = gzip.compress(body, mtime=0)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Vary", "Accept-Encoding")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    routes: dict[str, Route]
    requests: list[str]
    sent: dict[str, list[bytes]]


class SiteServer:
    """Serves ``routes`` on ``host:port`` (port 0: any free port) in a thread."""

    def __init__(self, routes: dict[str, Route], host: str = "127.0.0.1", port: int = 0):
        self._server = _Server((host, port), _RequestHandler)
        self._server.routes = routes
        self._server.requests = []
        self._server.sent = {}
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def routes(self) -> dict[str, Route]:
        return self._server.routes

    @property
    def requests(self) -> list[str]:
        """Paths requested so far, in order."""
        return self._server.requests

    @property
    def sent(self) -> dict[str, list[bytes]]:
        """Payloads sent per request path (path and query), before content coding."""
        return self._server.sent

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def start(self) -> SiteServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SiteServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
