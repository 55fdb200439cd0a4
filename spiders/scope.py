"""Scope decisions by host: which links are the source's site, which are furniture pages."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# Listing pages, not articles: tags, categories, authors, feeds, search, paging.
_LISTING_PATH = re.compile(
    r"/(tag|tags|category|categories|author|authors|topic|topics|section|sections|label|"
    r"labels|search|feed|feeds|rss|page|archive|archives|wp-json|wp-login\.php|login|"
    r"signin|register|subscribe|cart|account)(/|$|\.)",
    re.IGNORECASE,
)
_SHARE = re.compile(
    r"(sharer|/share(article)?\b|/sharing\b|/intent/(tweet|post)|/pin/create|/submit\?|"
    r"whatsapp\.com/send|//wa\.me/|//t\.me/share|addtoany|/add_to/)",
    re.IGNORECASE,
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


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
    parts = urlsplit(url)
    return parts.path in ("", "/") or bool(_LISTING_PATH.search(parts.path))


def is_share_link(url: str) -> bool:
    return bool(_SHARE.search(url))


def same_page(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (site_key(a), pa.path.rstrip("/"), pa.query) == (site_key(b), pb.path.rstrip("/"),
                                                            pb.query)
