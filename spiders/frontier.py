"""The crawl's frontier: discovered URLs wait as small tuples until Scrapy has room for them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import scrapy

from archive.urls import site_key
from spiders import meta as keys

# Asked of each URL as its request is made: False if it is not to be fetched (the gate
# records why).
Gate = Callable[[str, dict[str, Any]], bool]


def referer_for(referrer: str, url: str) -> str | None:
    """The Referer a request for ``url`` found on ``referrer`` carries: the page itself
    within its site (host without ``www.``, and port), nothing to another site, nothing
    from https to http."""
    if referrer.startswith("https:") and not url.startswith("https:"):
        return None
    try:
        same = site_key(referrer) == site_key(url)
    except ValueError:
        return None
    return referrer if same else None


class Frontier:
    """URLs to fetch, last found first (Scrapy's own default order), made into Requests a
    window at a time.

    A Request waiting in Scrapy's queue costs ~4 KB (its meta, headers, fingerprint and
    reference tracking); a news site links far more pages than a crawl fetches at once, so
    a queue of Requests grows with the site (15,000 of them, 65 MB, on a 20,000-page one).
    Here a URL waits as (url, callback, meta) with one meta dict shared by every link of
    the same kind on a page; only ``window`` requests are out with Scrapy at a time.
    """

    def __init__(self, window: int, gate: Gate | None = None) -> None:
        self.window = window
        self.gate = gate
        self._waiting: list[tuple[str, Callable[..., Any], dict[str, Any]]] = []
        # Requests handed to Scrapy whose callback or errback has not run yet. One that
        # Scrapy drops without either (a filtered duplicate) is forgotten at `idle()`.
        self.in_flight = 0

    def __len__(self) -> int:
        return len(self._waiting)

    def add(self, url: str, callback: Callable[..., Any], meta: dict[str, Any]) -> None:
        """Queue ``url``; ``meta`` (with its ``keys.REFERRER``) may be shared, it is copied
        when the request is made."""
        self._waiting.append((url, callback, meta))

    def sent(self) -> None:
        """A request went to Scrapy by another way (a seed, a probe, a recheck)."""
        self.in_flight += 1

    def answered(self) -> None:
        """A callback or errback ran: room for one more request."""
        self.in_flight = max(0, self.in_flight - 1)

    def idle(self) -> None:
        """Scrapy has nothing left in flight, whatever the count says."""
        self.in_flight = 0

    def release(self, errback: Callable[..., Any]) -> Iterator[scrapy.Request]:
        """Requests for waiting URLs, as many as the window has room for."""
        while self._waiting and self.in_flight < self.window:
            url, callback, meta = self._waiting.pop()
            if self.gate is not None and not self.gate(url, meta):
                continue
            referer = referer_for(meta[keys.REFERRER], url)
            try:
                request = scrapy.Request(url, callback=callback, errback=errback,
                                         meta=dict(meta),
                                         headers={"Referer": referer} if referer else None)
            except ValueError:  # a URL Scrapy cannot request: one link, not the page's
                continue
            self.in_flight += 1
            yield request
