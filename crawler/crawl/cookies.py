"""Cookies bounded as browsers bound them: a page cannot make the next request unsendable."""

from __future__ import annotations

from collections.abc import Iterable
from http.cookiejar import Cookie

from scrapy import Request
from scrapy.downloadermiddlewares.cookies import CookiesMiddleware
from scrapy.http.cookies import CookieJar

# Firefox and Chrome: 180 cookies per domain, 3000 in all, 4096 bytes of name and value
# each. A Cookie header is kept under 8 KB, the smallest request-header limit of common
# servers (nginx, Apache): past it a site answers 400 to every request.
MAX_PER_DOMAIN = 180
MAX_COOKIES = 3000
MAX_COOKIE_BYTES = 4096
MAX_HEADER_BYTES = 8192


class BoundedCookies(CookiesMiddleware):
    """Scrapy's cookie handling, with the limits above: an oversized cookie is not kept,
    the oldest cookies of a domain (then of the jar) make room, and a Cookie header is cut
    at a whole cookie before 8 KB."""

    def _process_cookies(self, cookies: Iterable[Cookie], *, jar: CookieJar,
                         request: Request) -> None:
        kept = [c for c in cookies
                if len(c.name) + len(c.value or "") <= MAX_COOKIE_BYTES]
        super()._process_cookies(kept, jar=jar, request=request)
        if kept:
            _prune(jar)

    def process_request(self, request: Request) -> None:  # type: ignore[override]
        super().process_request(request)
        header = request.headers.get(b"Cookie")
        if header is not None and len(header) > MAX_HEADER_BYTES:
            request.headers[b"Cookie"] = _cut(header)


def _prune(jar: CookieJar) -> None:
    """Drop the oldest cookies (the jar keeps them in the order they were set) past the
    per-domain and total limits."""
    store = jar._cookies
    total = 0
    for domain, paths in list(store.items()):
        count = sum(len(names) for names in paths.values())
        for path, names in list(paths.items()):
            while count > MAX_PER_DOMAIN and names:
                del names[next(iter(names))]
                count -= 1
            if not names:
                del paths[path]
        if not paths:
            del store[domain]
        total += count
    for domain, paths in list(store.items()):
        if total <= MAX_COOKIES:
            break
        for path, names in list(paths.items()):
            while total > MAX_COOKIES and names:
                del names[next(iter(names))]
                total -= 1
            if not names:
                del paths[path]
        if not paths:
            del store[domain]


def _cut(header: bytes) -> bytes:
    """The header's first cookies, as many as fit in MAX_HEADER_BYTES."""
    kept: list[bytes] = []
    size = 0
    for pair in header.split(b"; "):
        size += len(pair) + 2
        if size > MAX_HEADER_BYTES:
            break
        kept.append(pair)
    return b"; ".join(kept)
