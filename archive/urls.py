"""URL normalisation shared by the index and its lookups."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from w3lib.url import safe_url_string

_DEFAULT_PORTS = {"http": 80, "https": 443}


class InvalidURL(ValueError):
    """Not an absolute http(s) URL with a host."""


def validate_url(url: str) -> str:
    """Return the URL stripped, or raise InvalidURL with a one-line reason."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 -- raises ValueError on a bad port
    except ValueError as exc:
        raise InvalidURL(f"invalid URL {url!r}: {exc}") from exc
    if parts.scheme.lower() not in _DEFAULT_PORTS:
        raise InvalidURL(f"invalid URL {url!r}: it needs an http:// or https:// scheme")
    if not parts.hostname:
        raise InvalidURL(f"invalid URL {url!r}: it has no host")
    return text


def normalize_url(url: str) -> str:
    """The form captures are indexed under: percent-safe, lower-case host, no default
    port, ``/`` for an empty path, no fragment."""
    parts = urlsplit(safe_url_string(url.strip()))
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    if parts.username:
        auth = parts.username + (f":{parts.password}" if parts.password else "")
        netloc = f"{auth}@{netloc}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
