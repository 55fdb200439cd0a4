"""The fast path of extraction: the text blocks of a page's marked-up article container."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urljoin, urlsplit

from lxml import etree

from monitor.furniture import card_groups, is_furniture
from monitor.reader import Prose, is_prose

_RELATED_HEADING = re.compile(
    r"^\s*(related(\s+\w+)?|keep\s+reading|more\s+(on|from)\b.*|see\s+also|further\s+reading|"
    r"read\s+(next|also|more)|you\s+may\s+also\s+like|recommended(\s+reading)?|"
    r"most\s+(read|popular|viewed|shared)|share(\s+this(\s+article)?)?)\s*:?\s*$",
    re.IGNORECASE,
)
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")

# Elements that start and end a block of text; everything else is inline.
_BLOCKS = frozenset((
    "p", "div", "section", "article", "main", "blockquote", "pre", "li", "ul", "ol", "dl",
    "dt", "dd", "figure", "figcaption", "table", "thead", "tbody", "tfoot", "tr", "caption",
    "address", "details", "summary", "hr", "center", *_HEADINGS,
))
# Cells of a row stay one block, as a row is read.
_CELLS = frozenset(("td", "th"))

# Raw length, spaces and all: normalising first would cost more than the rest of the
# fast path, and only shares and a rough floor are asked of it.
_TEXT_LEN = etree.XPath("string-length(.)")
_TEXT = etree.XPath("string(.)")


# An absolute path ("/a/b.html", not "//host") of plain characters and no dot segment: its
# URL is the base's scheme and host and this path, as urljoin would make it, without the
# two parses urljoin makes of every link (a tenth of an extraction).
_PLAIN_PATH = re.compile(r"(?!.*/\.)/(?!/)[A-Za-z0-9_.~%/-]*\Z")


def _origin(url: str) -> str | None:
    """``scheme://netloc`` of an http(s) URL, as urljoin reads them; None otherwise."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") else None


class Block(NamedTuple):
    """One paragraph, heading, list item or table row (spaces as in the markup), and the
    links in it. (A tuple: a page makes a hundred, and a frozen dataclass is slow to build.)"""

    text: str
    links: int
    link_words: int


@dataclass(frozen=True)
class Article:
    blocks: tuple[Block, ...]
    outlinks: tuple[str, ...]


def _related_sections(container: etree._Element) -> set[etree._Element]:
    """The "Related stories" headings and what follows each, up to the next heading or
    paragraph of prose (the story may go on after the list)."""
    doomed: set[etree._Element] = set()
    for heading in container.iter(*_HEADINGS):
        if _RELATED_HEADING.match(" ".join(heading.itertext())):
            doomed.add(heading)
            sibling = heading.getnext()
            while sibling is not None and sibling.tag not in _HEADINGS and \
                    not is_prose(sibling):
                doomed.add(sibling)
                sibling = sibling.getnext()
    return doomed


def article_blocks(container: etree._Element, url: str, prose: Prose,
                   headline: etree._Element | None = None) -> Article:
    """The container's text as blocks, in document order, furniture left out (the text
    after a piece of furniture stays, where it was). The <header> around the story's
    ``headline`` is the story's own, with its standfirst: not furniture."""
    # The walk would skip comments, and the text after them with them.
    etree.strip_elements(container, etree.Comment, etree.ProcessingInstruction,
                         with_tail=False)
    doomed = _related_sections(container) | card_groups(container, prose)
    whole = prose.of(container)
    own = {a for a in headline.iterancestors() if a.tag == "header"} \
        if headline is not None else set()
    blocks: list[Block] = []
    parts: list[str] = []
    links = link_words = 0
    outlinks: dict[str, None] = {}
    skipped: etree._Element | None = None
    origin = _origin(url)
    # One flat walk that steps over furniture: it is most of an extraction, and each pass
    # over the tree costs a Python object per element.
    walk = etree.iterwalk(container, events=("start", "end"))
    for event, el in walk:
        if skipped is not None and el is skipped:
            # The end of a piece of furniture: only its tail is the story's.
            if skipped.tail:
                parts.append(skipped.tail)
            skipped = None
            continue
        if event == "start" and el is not container and (el in doomed or (
                is_furniture(el, prose, whole) and el not in own)):
            walk.skip_subtree()
            skipped = el
            continue
        tag = el.tag
        if tag in _BLOCKS:  # a block starts or ends: the text so far is one
            if parts:
                text = "".join(parts)  # spaces are normalised once, by the caller's cleaning
                if not text.isspace():
                    blocks.append(Block(text, links, link_words))
                parts.clear()
            links = link_words = 0
        elif tag in _CELLS or (tag == "br" and event == "start"):
            parts.append(" ")
        elif tag == "a" and event == "start":
            links += 1
            link_words += len(str(_TEXT(el) if len(el) else el.text or "").split())
            href = (el.get("href") or "").strip()
            if href and not href.startswith("#"):
                target = origin + href if origin is not None and _PLAIN_PATH.match(href) \
                    else urljoin(url, href)
                if target.startswith(("http://", "https://")):
                    outlinks[target] = None
        if event == "start":
            if el.text:
                parts.append(el.text)
        elif el is not container and el.tail:
            parts.append(el.tail)
    if parts:
        text = "".join(parts)
        if not text.isspace():
            blocks.append(Block(text, links, link_words))
    return Article(tuple(blocks), tuple(outlinks))
