"""A fetched page as the spider reads it: parsed once, its links judged if one can be followed."""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from lxml import etree
from scrapy.http import TextResponse

from archive.urls import is_listing_page, is_share_link, same_page, site_key
from spiders.links import link_urls, page_base, parse_page


@dataclass(frozen=True, slots=True)
class Page:
    """A page's tree and the base its links resolve against."""

    root: etree._Element
    base: str


def read(response: TextResponse) -> Page | None:
    """The page, or None when it does not parse. The body itself is parsed when it is
    UTF-8 that decoded without a replacement character and has no byte-order mark (its
    tree is then the text's), else the decoded text."""
    text = response.text
    if response.encoding == "utf-8" and "\ufffd" not in text and \
            not response.body.startswith(codecs.BOM_UTF8):
        root = parse_page(response.body, utf8=True)
    else:
        root = parse_page(text)
    return None if root is None else Page(root, page_base(root, response.url))


def cites(url: str, page_url: str, sites: list[str]) -> bool:
    """Whether a content link of the page at ``page_url`` is a citation the crawl
    follows: a page of another site than the source's (a share button aside)."""
    return site_key(url) not in sites and not is_share_link(url, page_url)


def relates(url: str, page_url: str, sites: list[str]) -> bool:
    """Whether a content or related link is a related article the crawl follows: a page
    of the source's sites that is no listing page, and not this page again."""
    return site_key(url) in sites and not is_listing_page(url) and \
        not same_page(url, page_url)


def nothing_to_follow(page: Page, page_url: str, sites: list[str], requested: set[str],
                      cap: int) -> bool:
    """Whether judging the page's links would queue none: each one the crawl could follow
    from it (as a citation or a related article) has been requested already, and they
    are too few to be refused for their number (CRAWL_MAX_LINKS_PER_PAGE). Finding where
    the story is and what is furniture is then not needed: on most pages of a site
    crawled through, every article they link is known by the time they are read."""
    urls = link_urls(page.root, page.base)
    if cap and len(urls) > cap:
        return False
    return all(url in requested or not (cites(url, page_url, sites) or
                                        relates(url, page_url, sites)) for url in urls)
