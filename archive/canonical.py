"""URLs matched as archives match them: the SURT form, and the indexed URLs that share it."""

from __future__ import annotations

import ipaddress
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from archive.urls import normalize_url

_SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _bare_host(host: str) -> str:
    """The host without a leading ``www.`` (``www2.`` too), as SURT drops it."""
    head, dot, rest = host.partition(".")
    if dot and rest and (head == "www" or (head.startswith("www") and head[3:].isdigit())):
        return rest
    return host


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def surt_key(url: str) -> str:
    """The canonical form pywb and the Wayback Machine match URLs in: no scheme, host
    reversed without ``www.``, no default port, no trailing slash, query sorted.
    ``https://www.Example.com:443/a/?b=2&a=1`` is ``com,example)/a?a=1&b=2``."""
    parts = urlsplit(normalize_url(url))
    host = _bare_host(parts.hostname or "")
    reversed_host = host if _is_address(host) else ",".join(reversed(host.split(".")))
    port = parts.port
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme):
        reversed_host += f":{port}"
    path = parts.path.rstrip("/") if parts.path != "/" else ""
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return f"{reversed_host}){path or '/'}" + (f"?{query}" if query else "")


def variants(url: str) -> list[str]:
    """Normalised URLs that share ``url``'s SURT key, ``url`` itself first, then those
    nearest it: the other scheme, with or without ``www.``, with or without the
    trailing slash."""
    exact = normalize_url(url)
    parts = urlsplit(exact)
    host = (parts.hostname or "").lower()
    bare = _bare_host(host)
    hosts = [host] if _is_address(host) else [host, bare if bare != host else f"www.{host}"]
    port = parts.port
    path = parts.path
    paths = [path]
    if path != "/":
        paths.append(path[:-1] if path.endswith("/") else path + "/")
    schemes = [parts.scheme] + [s for s in _SCHEMES if s != parts.scheme]
    found: list[str] = []
    for scheme in schemes:
        for name in hosts:
            netloc = name if port is None or port == _DEFAULT_PORTS.get(parts.scheme) \
                else f"{name}:{port}"
            for each in paths:
                candidate = normalize_url(urlunsplit((scheme, netloc, each, parts.query, "")))
                if candidate not in found:
                    found.append(candidate)
    # A variant that is not the same SURT (an odd host) is no match at all.
    key = surt_key(exact)
    return [c for c in found if surt_key(c) == key]
