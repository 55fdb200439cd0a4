"""Page furniture: what around and inside a story is not the story (menus, rails, share
bars, teaser rows, banners), known by tag, role, whole words of its names, or hiddenness."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from lxml import etree

if TYPE_CHECKING:
    from monitor.reader import Prose

# Never text a reader sees.
INVISIBLE_TAGS = frozenset(("script", "style", "noscript", "template", "svg", "iframe",
                            "object", "embed", "canvas", "dialog", "button", "select",
                            "textarea", "input", "video", "audio", "map", "head", "title"))
# Page structure that usually holds furniture, but may be named wrongly (ASP.NET wraps the
# whole page in a <form>; some themes put the story in a <header>): see is_furniture.
_FURNITURE_TAGS = frozenset(("nav", "aside", "form", "footer", "header", "menu"))
_FURNITURE_ROLES = frozenset(("navigation", "banner", "contentinfo", "complementary",
                              "search", "dialog", "alertdialog", "menu", "menubar", "toolbar"))
# Furniture is known by whole words of its class or id: "share-buttons", "site-nav",
# "related_posts", "mostRead". A word inside a longer name is not enough:
# "field--label-hidden", "elementor-widget-container", "non-ad-column" and
# "pagination-first" are the wrappers of stories, not furniture. Words of one meaning
# name furniture after any vendor's prefix ("nv-related-posts", "td-social-sharing")...
_STRONG_WORDS = frozenset((
    "sidebar sidebars navbar navigation breadcrumb breadcrumbs share shares sharing "
    "sharebar sharetools social comment comments cookie cookies consent gdpr advert adverts "
    "advertisement advertising adsbygoogle sponsored promo promos popular mostread "
    "mostpopular mostviewed trending related similar featured newsletter newsletters "
    "subscribe subscription pagination pager authorbox aboutauthor toolbar masthead "
    "footer ticker").split())
# ... words of many meanings only at the start of a name, after a prefix of the layout:
# "nav", "site-menu", "c-widget", but not "elementor-widget-container".
_WEAK_WORDS = frozenset((
    "nav menu menus widget widgets banner ad ads tags tag taglist tagcloud topics rail "
    "kicker eyebrow actions crumbs forum").split())
_WORDS = _STRONG_WORDS | _WEAK_WORDS
# Words that may come before the furniture word ("site-nav", "c-article__share") ...
_PREFIXES = frozenset((
    "site global main page top bottom primary secondary post article entry story news "
    "blog single the js c m o u left right mobile desktop sticky header").split())
# ... and after it ("share-buttons", "ad-slot-2", "sidebar-primary", "related-posts").
_SUFFIXES = frozenset((
    "bar bars box area list links link wrap wrapper container section block module widget "
    "menu buttons button icons icon tools tool panel items item nav content inner outer "
    "holder slot unit zone region placeholder top bottom left right primary secondary "
    "mobile desktop sticky title heading header footer signup form cta overlay popup modal "
    "notice group grid feed rail col column count counts s xs sm md lg posts post stories "
    "story articles article news entries media platforms networks sdk bottom").split())
# Hidden from the reader: whole tokens only ("label-hidden" hides a label, not a story).
_HIDDEN_TOKENS = frozenset((
    "hidden is-hidden visually-hidden visuallyhidden sr-only sr-text screen-reader-text "
    "screen-reader-only screenreader-only offscreen u-hidden element-invisible "
    "element-hidden d-none hide print-only").split())
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
# Comments are the one furniture that is prose by nature: never taken for the story.
_COMMENT_WORDS = frozenset(("comment", "comments", "disqus", "respond", "discussion",
                            "forum"))
# Furniture that holds at least this share of the page's prose is the story after all.
STORY_SHARE = 0.5
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_PARTS = re.compile(r"[-_]+")


def _parts(token: str) -> list[str]:
    return [p for p in _PARTS.split(_CAMEL.sub(r"\1-\2", token).lower()) if p]


@lru_cache(maxsize=8192)
def _is_furniture_token(token: str) -> bool:
    if token.lower() in _HIDDEN_TOKENS:
        return True
    parts = _parts(token)
    start = 0
    while start < len(parts) - 1 and parts[start] in _PREFIXES:
        start += 1
    for i in range(start, len(parts)):
        # A furniture word, or two parts that make one ("most-read", "author_box").
        if parts[i] in _WORDS:
            word, tail = parts[i], parts[i + 1:]
        elif i + 1 < len(parts) and parts[i] + parts[i + 1] in _WORDS:
            word, tail = parts[i] + parts[i + 1], parts[i + 2:]
        else:
            word, tail = "", []
        if word and (i == start or word in _STRONG_WORDS) and all(
                p in _SUFFIXES or p in _WORDS or p.isdigit() for p in tail):
            return True
        if i == start and word in _WEAK_WORDS:
            return False  # "widget-text-editor": a widget of the story itself
    return False


@lru_cache(maxsize=8192)
def furniture_name(names: str) -> bool:
    """Whether a class and id (joined by a space) name a piece of furniture."""
    return any(_is_furniture_token(token) for token in names.split())


@lru_cache(maxsize=512)
def _custom_furniture(tag: str) -> bool:
    """A custom element named as furniture: <site-header>, <pp-navigation>, <x-footer>."""
    return any(p in _WORDS or p in ("header", "footer") for p in _parts(tag))


@lru_cache(maxsize=2048)
def _comment_name(names: str) -> bool:
    return any(p in _COMMENT_WORDS for token in names.split() for p in _parts(token))


_WEIGHED_ATTRIBUTES = frozenset(("role", "hidden", "aria-hidden", "style", "class", "id"))


def element_names(el: etree._Element) -> str:
    return f"{el.get('class', '')} {el.get('id', '')}"


def looks_like_furniture(el: etree._Element) -> bool:
    """Furniture by its tag, role, name or hiddenness, before its contents are weighed."""
    tag = el.tag
    if tag in INVISIBLE_TAGS or tag in _FURNITURE_TAGS:
        return True
    if tag in ("body", "html"):  # their classes describe the layout: "content-sidebar"
        return False
    if "-" in tag and _custom_furniture(tag):
        return True
    # Most elements of a story (its paragraphs, links, emphasis) carry none of the
    # attributes weighed below: one look at their names spares six.
    if _WEIGHED_ATTRIBUTES.isdisjoint(el.keys()):
        return False
    if el.get("role", "") in _FURNITURE_ROLES or el.get("hidden") is not None or \
            el.get("aria-hidden") == "true":
        return True
    style = el.get("style")
    if style and _HIDDEN_STYLE.search(style):
        return True
    names = element_names(el)
    return names != " " and furniture_name(names)


def is_furniture(el: etree._Element, prose: Prose, whole: int) -> bool:
    """Furniture, unless it holds most of the prose of ``whole`` (the story's length, or
    the page's): a subtree that holds most of the story is the story's, whatever its
    class says. Page structure (<form>, <header>, <aside>, a navigation role) is taken
    for the story's only when it also holds a headline: ASP.NET's <form> around a whole
    page does, a newsletter form with its small print does not."""
    if not looks_like_furniture(el):
        return False
    if el.tag in INVISIBLE_TAGS or not whole or prose.of(el) < STORY_SHARE * whole:
        return True
    if el.tag in _FURNITURE_TAGS or el.get("role", "") in _FURNITURE_ROLES:
        return el.find(".//h1") is None
    names = element_names(el)
    return names != " " and _comment_name(names)


_GROUPS = etree.XPath(".//*[count(*) >= 3]")
# A teaser's summary is a sentence or two; more text than this a card is the story's.
CARD_PROSE = 400
_CARD_MARKS = etree.XPath("boolean(.//a) and boolean(.//img|.//picture|.//time|.//h2|.//h3"
                          "|.//h4|.//h5|.//h6)")


def _shape(el: etree._Element) -> tuple[str, str | None]:
    return el.tag, el.get("class")


def card_groups(container: etree._Element, prose: Prose) -> set[etree._Element]:
    """Rows of teasers in the story's element ("More from the section", a grid of related
    posts): three or more siblings of one shape, each a link with a picture, a heading or
    a date, together holding little of the story's prose. (A listicle's items, each a
    heading, a picture and paragraphs, hold most of it.)"""
    whole = prose.of(container)
    groups: set[etree._Element] = set()
    for parent in _GROUPS(container):
        assert isinstance(parent, etree._Element)
        children = [c for c in parent if isinstance(c.tag, str)]
        # A row may open with its label ("Most read"): the cards are the rest.
        if len(children) >= 4 and _shape(children[0]) != _shape(children[1]):
            children = children[1:]
        if len(children) < 3:
            continue
        shape = _shape(children[0])
        if any(_shape(c) != shape for c in children) or \
                not all(_CARD_MARKS(c) for c in children):
            continue
        if whole and prose.of(parent) >= STORY_SHARE * whole:
            continue
        if prose.of(parent) >= CARD_PROSE * len(children):
            continue  # items of the story (a briefing's), each with paragraphs of its own
        groups.add(parent)
    return groups


@lru_cache(maxsize=4096)
def hidden_name(names: str) -> bool:
    return any(t.lower() in _HIDDEN_TOKENS for t in names.split())
