"""Referer only within a site: the page that cited a URL is not told to the cited site."""

from __future__ import annotations

from typing import Any

from scrapy.spidermiddlewares.referer import RefererMiddleware, ReferrerPolicy

from spiders.frontier import referer_for


class SameSiteReferrerPolicy(ReferrerPolicy):
    """The page's URL (without credentials or fragment) to its own site, nothing to others."""

    name = "vigil-same-site"

    def referrer(self, response_url: str, request_url: str) -> str | None:
        if referer_for(response_url, request_url):
            return self.stripped_referrer(response_url)
        return None


_POLICY = SameSiteReferrerPolicy()


class SameSiteReferer(RefererMiddleware):
    """Scrapy's RefererMiddleware with one policy whatever a page's ``Referrer-Policy``
    header or ``<meta name=referrer>`` asks: a hostile page cannot turn the leak back on.
    Scrapy's RedirectMiddleware asks this one (a subclass) for redirects too."""

    def policy(self, *args: Any, **kwargs: Any) -> ReferrerPolicy:
        return _POLICY
