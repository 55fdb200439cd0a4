"""The fast path of extraction: the text blocks of a page's marked-up article container."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urljoin

from lxml import etree

# A container is "the article" when its markup says so: <article>, <main>, schema.org's
# articleBody, role=main, or the class/id names publishing systems give the story body.
MAIN_ATTR = re.compile(
    r"(^|[-_ ])((entry|post|article|story|news)[-_ ]{0,2}(content|body|text)|articlebody|"
    r"main[-_ ]{0,2}content)([-_ ]|$)",
    re.IGNORECASE,
)
_CANDIDATES = etree.XPath("//article|//main|//*[@class or @id or @role or @itemprop]")

# Furniture inside a story: never part of what an edit is judged on.
_FURNITURE_TAGS = frozenset(("script", "style", "noscript", "template", "nav", "aside", "form",
                   "footer", "header", "button", "select", "svg", "iframe", "object", "embed",
                   "canvas", "dialog"))
_FURNITURE_ATTR = re.compile(
    r"(^|[-_ ])(nav|navbar|navigation|menu|sidebar|widget|footer|masthead|breadcrumbs?|"
    r"share|sharing|sharebar|social|comments?|cookies?|consent|banner|advert|adverts|ads?|"
    r"sponsored|promo|popular|most[-_ ]?read|trending|tags|tag[-_ ]?list|related|"
    r"newsletter|subscribe|pagination|author[-_ ]?box|about[-_ ]?author|hidden|"
    r"screen[-_ ]?reader[-_ ]?text|sr[-_ ]?only|visually[-_ ]?hidden)([-_ ]|$)",
    re.IGNORECASE,
)
_FURNITURE_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search"}
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


def _furniture(el: etree._Element) -> bool:
    if el.tag in _FURNITURE_TAGS or el.get("role", "") in _FURNITURE_ROLES:
        return True
    tokens = f"{el.get('class', '')} {el.get('id', '')}"
    return tokens != " " and bool(_FURNITURE_ATTR.search(tokens))


def story_candidates(root: etree._Element) -> list[etree._Element]:
    """Every element the markup names as a story, in document order (link scope and
    extraction both choose among these)."""
    return [el for el in _CANDIDATES(root) if (
        el.tag in ("article", "main") or el.get("role") == "main"
        or el.get("itemprop") == "articleBody"
        or MAIN_ATTR.search(f"{el.get('class', '')} {el.get('id', '')}"))]


def find_container(root: etree._Element) -> etree._Element | None:
    """The element the markup names as the story (a notice or a stub that took its place
    included), or None when nothing is named so."""
    candidates = story_candidates(root)
    if not candidates:
        return None
    lengths = {el: int(_TEXT_LEN(el)) for el in candidates}
    best = max(lengths.values())
    # The deepest candidate that still holds most of the text: the story body rather than
    # the <main> around it with its rail of headlines (teaser <article>s hold little).
    good = [el for el in candidates if lengths[el] >= 0.8 * best]
    return max(good, key=lambda el: sum(1 for _ in el.iterancestors()))


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


def is_prose(el: etree._Element) -> bool:
    """A paragraph with words of its own, not just a link."""
    if el.tag != "p":
        return False
    own = (el.text or "") + "".join(child.tail or "" for child in el)
    return bool(own.strip())


def article_blocks(root: etree._Element, container: etree._Element, url: str) -> Article:
    """The container's text as blocks, in document order, furniture left out (the text
    after a piece of furniture stays, where it was)."""
    # The walk would skip comments, and the text after them with them.
    etree.strip_elements(container, etree.Comment, etree.ProcessingInstruction,
                         with_tail=False)
    doomed = _related_sections(container)
    blocks: list[Block] = []
    parts: list[str] = []
    links = link_words = 0
    outlinks: dict[str, None] = {}
    skipped: etree._Element | None = None
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
        if event == "start" and el is not container and (el in doomed or _furniture(el)):
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
            link_words += len(str(_TEXT(el)).split())
            href = (el.get("href") or "").strip()
            if href and not href.startswith("#"):
                target = urljoin(url, href)
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
