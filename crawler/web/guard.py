"""What every response of the app gets: a Host check (against DNS rebinding) and a CSP.

A web page the user visits can make its own host name resolve to 127.0.0.1 and then read
``http://its-name:8080/`` as same-origin: only a Host header naming this server (a
loopback name or address, ``--host``, or one the operator allowed) is answered.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The app's own pages: no scripts, nothing from elsewhere, never framed by another site.
APP_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
           "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
LOOPBACK_NAMES = frozenset(("localhost", "localhost.localdomain", "ip6-localhost",
                            "ip6-loopback"))
_UNSPECIFIED = frozenset(("0.0.0.0", "::", ""))


def host_name(header: str) -> str:
    """The name in a Host header, lower-case, without port or IPv6 brackets."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else ""
    name, _, port = value.rpartition(":")
    if name and port.isdigit():
        return name
    return value


def _name_of(entry: str) -> str:
    """A configured host: a name (its port dropped) or an address, IPv6 with or without
    brackets."""
    try:
        return str(ipaddress.ip_address(entry.strip().strip("[]")))
    except ValueError:
        return host_name(entry)


def is_loopback(name: str) -> bool:
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class AllowedHosts:
    """Loopback names and addresses, the address listened on, and the operator's list."""

    def __init__(self, listen: str, extra: Iterable[str] = ()) -> None:
        names = {_name_of(n) for n in extra}
        if listen.strip("[]") not in _UNSPECIFIED:
            names.add(_name_of(listen))
        self.names = frozenset(n for n in names if n)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self.names or is_loopback(name))


class Guard:
    """ASGI middleware: 400 for a foreign Host, a CSP and no-sniff on every response."""

    def __init__(self, app: ASGIApp, allowed: AllowedHosts) -> None:
        self.app, self.allowed = app, allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        name = host_name(Headers(scope=scope).get("host", ""))
        if name not in self.allowed:
            await self._refuse(send)
            return

        host = Headers(scope=scope).get("host", "")

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                location = headers.get("location", "")
                # Starlette's own redirects (a missing slash) are absolute, made from Host.
                for scheme in ("http://", "https://"):
                    if host and location.lower().startswith(scheme + host.lower()):
                        headers["location"] = location[len(scheme + host):] or "/"
                headers.setdefault("Content-Security-Policy", APP_CSP)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
            await send(message)

        await self.app(scope, receive, secured)

    @staticmethod
    async def _refuse(send: Send) -> None:
        body = b"Host not allowed: see `vigil serve --allow-host`\n"
        await send({"type": "http.response.start", "status": 400, "headers": [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"content-security-policy", APP_CSP.encode()),
            (b"cache-control", b"no-store")]})
        await send({"type": "http.response.body", "body": body})
