"""The not-found probes of a crawl: one per site, sent once a page of the site may need it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Final

import scrapy
from scrapy.http import Response

from archive.urls import site_key
from spiders import meta as keys

# From here on a status is judged by itself, never against the site's not-found page
# (monitor/classify.py: 4xx is a removal, 5xx a failure).
ERROR_STATUS: Final = 400


def compared_with_probe(response: Response, rendered: bool = False) -> bool:
    """Whether the monitor may compare this page with its site's not-found page: it came
    with content of this crawl. A 304 did not (the page handed on is the one archived
    before, which the monitor does not read again), unless redirects, each a fresh answer,
    led to it or the browser rendered it (its DOM is new); an error status is judged by
    itself."""
    if response.status >= ERROR_STATUS:
        return False
    return rendered or keys.NOT_MODIFIED not in response.flags or \
        bool(response.meta.get(keys.REDIRECT_URLS))


class Probes:
    """Each site's probe, admitted with the site's first seed, waits here until a page of
    the site comes that may need it: an unchanged recapture, all 304s, sends none (on a
    news site, a 50-100 KB page)."""

    def __init__(self, admit: Callable[[str, dict[str, Any]], bool],
                 sent: Callable[[], None]) -> None:
        self.admit = admit  # the source's budgets: False if refused (recorded)
        self.sent = sent  # the frontier's count of requests out with Scrapy
        self._sites: set[str] = set()
        self._waiting: dict[str, scrapy.Request] = {}

    def expect(self, probe: scrapy.Request) -> None:
        """Admit and hold ``probe`` if its site has none yet (one refused is not tried
        again with the site's next seed)."""
        site = site_key(probe.url)
        if site not in self._sites:
            self._sites.add(site)
            if self.admit(probe.url, probe.meta):
                self._waiting[site] = probe

    def due(self, response: Response, rendered: bool = False) -> Iterator[scrapy.Request]:
        """The probe of the site ``response`` was asked of, the first time one of its pages
        may be compared with it (the monitor looks the probe up by the URL it requested,
        before any redirect); yielded from the page's callback, so the crawl waits for it."""
        if not self._waiting or not compared_with_probe(response, rendered):
            return
        asked = (response.meta.get(keys.REDIRECT_URLS) or [response.url])[0]
        probe = self._waiting.pop(site_key(asked), None)
        if probe is not None:
            self.sent()
            yield probe
