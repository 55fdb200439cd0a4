"""URLs: validation, the normalised form captures are indexed under, and scope by site."""

from __future__ import annotations

import functools
import re
from urllib.parse import unquote, urlsplit, urlunsplit

from w3lib.url import safe_url_string

_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST = re.compile(r"^[\w.:-]+$|^\[[0-9a-fA-F:.]+\]$", re.UNICODE)
_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")
# Section fronts, by name: a path made only of these (``/news/world/``) lists articles.
# Only known names: a site may well call an article ``/second`` or ``/report``.
SECTION_NAMES = frozenset((
    "news", "world", "uk", "us", "europe", "asia", "africa", "americas", "australia",
    "middle-east", "local", "national", "international", "politics", "business", "economy",
    "money", "markets", "opinion", "opinions", "comment", "analysis", "editorial",
    "editorials", "culture", "arts", "entertainment", "science", "tech", "technology",
    "health", "education", "environment", "climate", "sport", "sports", "football",
    "lifestyle", "travel", "food", "style", "video", "videos", "photos", "pictures", "gallery",
    "galleries", "live", "latest", "podcasts", "investigations", "features", "magazine",
    "testimonies", "documents", "translations", "events", "interviews", "about", "contact",
))

# Listing pages, not articles: tags, categories, authors, feeds, search, paging.
_LISTING_PATH = re.compile(
    r"/(tag|tags|category|categories|author|authors|topic|topics|section|sections|label|"
    r"labels|search|feed|feeds|rss|page|archive|archives|wp-json|wp-login\.php|login|"
    r"signin|register|subscribe|cart|account)(/|$|\.)",
    re.IGNORECASE,
)
_SHARE = re.compile(
    r"(sharer|/share(article)?\b|/sharing\b|/intent/(tweet|post|compose)|/pin/create|/submit\?|"
    r"whatsapp\.com/send|//wa\.me/|//t\.me/share|addtoany|/add_to/)",
    re.IGNORECASE,
)


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
    if not _HOST.match(parts.hostname):
        raise InvalidURL(f"invalid URL {url!r}: {parts.hostname!r} is not a host name")
    if any(c.isspace() for c in text):
        raise InvalidURL(f"invalid URL {url!r}: it contains whitespace")
    return text


# A crawl normalises each URL several times, within the few hundred requests in flight
# around its fetch; a larger cache grows with the site (16,384 entries were ~5 MB each).
@functools.lru_cache(maxsize=1 << 12)
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
    path = _ESCAPE.sub(_upper, parts.path or "/")
    return urlunsplit((scheme, netloc, path, _ESCAPE.sub(_upper, parts.query), ""))


def _upper(match: re.Match[str]) -> str:
    # %c3%a9 and %C3%A9 are the same URL (RFC 3986 6.2.2.1).
    return match.group(0).upper()


@functools.lru_cache(maxsize=1 << 12)
def site_key(url: str) -> str:
    """A site is a host (without ``www.``) and a non-default port; scheme is ignored,
    so an http-to-https redirect stays on the same site."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None or port == _DEFAULT_PORTS.get(parts.scheme):
        return host
    return f"{host}:{port}"


def is_listing_page(url: str) -> bool:
    """The home page, tag/category/author/search pages, and section fronts named as such
    (``/news/``, ``/news/world/``)."""
    path = urlsplit(url).path
    if path in ("", "/") or _LISTING_PATH.search(path):
        return True
    segments = [s.lower() for s in path.split("/") if s]
    return len(segments) <= 2 and all(s in SECTION_NAMES for s in segments)


def is_share_link(url: str, page: str | None = None) -> bool:
    """A share button's link: a known share endpoint, or a link that carries the page's
    own URL in its query (``?u=<page>``, ``?text=… <page>``)."""
    if _SHARE.search(url):
        return True
    if page is None:
        return False
    query = unquote(urlsplit(url).query)
    bare = page.split("://", 1)[-1].rstrip("/")
    return bool(query) and bare in query


def same_page(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (site_key(a), pa.path.rstrip("/"), pa.query) == (site_key(b), pb.path.rstrip("/"),
                                                            pb.query)
