"""What a page says about itself for a citation: title, authors, publication date, site.

Read in the order citation managers (Zotero's embedded-metadata translator) trust them:
``citation_*`` (Highwire) meta, JSON-LD ``NewsArticle``/``Article``, OpenGraph and
``article:*`` meta, Dublin Core, then plain ``author`` meta and byline markup.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree, html
from w3lib.encoding import html_to_unicode

from archive.printable import printable

_ARTICLE_TYPE = re.compile(r"(Article|BlogPosting|Report|NewsArticle)$")
_BY = re.compile(r"^\s*((written|posted|words|story|text|reporting)\s+)?(by|par|von|por|door|"
                 r"di|av|af)\s*:?\s+", re.IGNORECASE)
# Where a byline's names end: a date, a time, a role that is not the author's.
_BYLINE_END = re.compile(r"\s*(\b(updated|published|posted|edited|photos?|illustrations?)"
                         r"\b|\d|[|\u2022\u00b7\u2014\u2013(]).*$", re.IGNORECASE | re.DOTALL)
_SPACES = re.compile(r"\s+")
# Zotero's rule for ``article:author``: a profile URL is not a name.
_URLISH = re.compile(r"^(https?:)?//|^www\.", re.IGNORECASE)


@dataclass(frozen=True)
class PageMetadata:
    title: str | None = None
    authors: tuple[str, ...] = ()
    published: str | None = None  # as the page states it (ISO 8601 mostly)
    site: str | None = None
    publisher: str | None = None
    sources: dict[str, str] = field(default_factory=dict)  # field -> where it came from


def clean(text: Any) -> str:
    """One line of text from the page: no control characters, spaces collapsed."""
    return _SPACES.sub(" ", printable(str(text), newlines=False).replace("\ufffd", " ")
                       ).strip()


def _metas(tree: Any) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for meta in tree.iter("meta"):
        key = meta.get("name") or meta.get("property") or meta.get("itemprop")
        value = meta.get("content")
        if key and value and clean(value):
            found.setdefault(key.strip().lower(), []).append(clean(value))
    return found


def _names(value: Any) -> list[str]:
    """JSON-LD ``author``/``publisher``: a string, an object with ``name``, or a list."""
    if isinstance(value, list):
        return [n for item in value for n in _names(item)]
    if isinstance(value, dict):
        value = value.get("name")
        return _names(value) if isinstance(value, list | dict) else _names(value or "")
    text = clean(value) if isinstance(value, str) else ""
    return [text] if text and not _URLISH.match(text) else []


def _walk(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, list):
        return [found for item in node for found in _walk(item)]
    if not isinstance(node, dict):
        return []
    found = [node]
    for key in ("@graph", "mainEntity", "mainEntityOfPage"):
        if key in node:
            found += _walk(node[key])
    return found


def _is_article(item: dict[str, Any]) -> bool:
    kinds = item.get("@type")
    listed = kinds if isinstance(kinds, list) else [kinds]
    return any(isinstance(k, str) and _ARTICLE_TYPE.search(k) for k in listed)


def _json_ld(tree: Any) -> tuple[dict[str, Any] | None, str | None]:
    """The page's article object, and a WebSite/Organization name seen beside it."""
    article, website = None, None
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        for item in _walk(data):
            if article is None and _is_article(item):
                article = item
            elif item.get("@type") in ("WebSite", "NewsMediaOrganization") and not website:
                website = next(iter(_names(item)), None)
    return article, website


def _byline_names(node: Any) -> list[str]:
    # Names linked to their author pages are the names; else the text up to a date.
    linked = [clean(a.text_content()) for a in node.iter("a")]
    linked = [_BY.sub("", n) for n in linked if n and len(n) <= 60 and not _URLISH.match(n)]
    if linked:
        return linked
    text = _BYLINE_END.sub("", _BY.sub("", clean(node.text_content())))
    return _split_authors(text) if len(text) <= 120 else []


def _byline(tree: Any) -> list[str]:
    for xpath in ("//*[@rel='author']", "//*[@itemprop='author']",
                  "//*[contains(concat(' ', normalize-space(@class), ' '), ' byline ')]",
                  "//*[contains(@class, 'author-name')]"):
        for node in tree.xpath(xpath):
            names = _byline_names(node) if node.tag != "a" else \
                [_BY.sub("", clean(node.text_content()))]
            names = [n for n in names if n]
            if names:
                return names
    return []


def _split_authors(text: str) -> list[str]:
    """Names in one line: split at "and", "&" and ";", and at commas only when every
    piece is a name of two words or more ("Brook, Ada" is one name)."""
    line = _BY.sub("", text).strip(" ,;:-")
    parts = [clean(p) for p in re.split(r"\s*(?:;|\band\b|\bund\b|\bet\b|&)\s*", line)]
    names = []
    for part in parts:
        pieces = [clean(p) for p in part.split(",")]
        names += pieces if len(pieces) > 1 and all(len(p.split()) >= 2 for p in pieces) \
            else [part]
    return [n.strip(" ,;:-") for n in names if n.strip(" ,;:-")]


def _first(*candidates: tuple[str, list[str] | None]) -> tuple[str | None, str | None]:
    for where, values in candidates:
        if values:
            return values[0], where
    return None, None


def read_metadata(page: bytes | str, content_type: str | None = None) -> PageMetadata:
    """The citation fields an HTML page states; those it does not state are None. Bytes
    are decoded as a browser would (BOM, Content-Type, <meta charset>, else a guess)."""
    if isinstance(page, bytes):
        page = html_to_unicode(content_type, page)[1]
    if not page.strip():
        return PageMetadata()
    try:
        tree = html.fromstring(page)
    except (etree.ParserError, ValueError):
        return PageMetadata()
    meta = _metas(tree)
    article, website = _json_ld(tree)
    ld = article or {}
    ld_date = [clean(ld["datePublished"])] if isinstance(ld.get("datePublished"), str) else []
    ld_title = [clean(ld[k]) for k in ("headline", "name") if isinstance(ld.get(k), str)]
    sources: dict[str, str] = {}

    authors_found: list[tuple[str, list[str]]] = [
        ("citation_author", meta.get("citation_author", [])),
        ("json-ld", _names(ld.get("author"))),
        ("article:author", [a for a in meta.get("article:author", [])
                            if not _URLISH.match(a)]),
        ("dublin-core", meta.get("dc.creator", []) + meta.get("dcterms.creator", [])),
        ("author meta", [n for v in meta.get("author", []) for n in _split_authors(v)]),
        ("byline", _byline(tree)),
    ]
    authors: list[str] = []
    for where, names in authors_found:
        if names:
            authors, sources["authors"] = names, where
            break
    published, when_from = _first(
        ("citation_publication_date", meta.get("citation_publication_date")),
        ("citation_date", meta.get("citation_date")),
        ("json-ld", ld_date),
        ("article:published_time", meta.get("article:published_time")),
        ("dublin-core", meta.get("dc.date") or meta.get("dcterms.date")
         or meta.get("dcterms.issued")),
        ("meta", meta.get("date") or meta.get("pubdate") or meta.get("publish-date")
         or meta.get("datepublished")),
        ("time", [t.get("datetime") for t in tree.xpath("//time[@datetime]")][:1]))
    if when_from:
        sources["published"] = when_from
    publisher, _ = _first(("json-ld", _names(ld.get("publisher"))),
                          ("citation_publisher", meta.get("citation_publisher")),
                          ("dublin-core", meta.get("dc.publisher")))
    site, site_from = _first(("og:site_name", meta.get("og:site_name")),
                         ("citation_journal_title", meta.get("citation_journal_title")),
                         ("json-ld", [publisher] if publisher else
                          ([website] if website else [])),
                         ("dublin-core", meta.get("dc.publisher")),
                         ("application-name", meta.get("application-name")))
    if site_from:
        sources["site"] = site_from
    heading = [clean(h.text_content()) for h in tree.xpath("//h1")][:1]
    titles = [clean(t.text_content()) for t in tree.xpath("//title")][:1]
    title, title_from = _first(("citation_title", meta.get("citation_title")),
                          ("json-ld", ld_title), ("og:title", meta.get("og:title")),
                          ("dublin-core", meta.get("dc.title")), ("h1", heading),
                          ("title", titles))
    if title_from:
        sources["title"] = title_from
    unique = tuple(dict.fromkeys(a for a in authors if a))
    return PageMetadata(title=title or None, authors=unique, published=published or None,
                        site=site, publisher=publisher, sources=sources)
