"""Where a page's story is: its container, its visible headline, and the furniture around it.

One reader for the spider's link scope and the monitor's extraction, so that what counts as
a citation and what counts as an edit come from the same element of a page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from lxml import etree

from monitor.furniture import card_groups, is_furniture, looks_like_furniture
from monitor.headline import find_headline


class Reading(StrEnum):
    """How the story of a page was found (what an extract says it read)."""

    ARTICLE = "article"  # an element the markup names as the story
    PROSE = "prose"  # the page's densest run of paragraphs, where the markup names none
    TRAFILATURA = "trafilatura"  # trafilatura's judgement of the whole page
    PAGE = "page"  # no article: the page's visible text, furniture left out


# A container is "the article" when its markup says so: <article>, <main>, schema.org's
# articleBody, role=main, or the class/id names publishing systems give the story body.
MAIN_ATTR = re.compile(
    r"(^|[-_ ])((entry|post|article|story|news)[-_ ]{0,2}(content|body|text)|articlebody|"
    r"main[-_ ]{0,2}content)([-_ ]|$)",
    re.IGNORECASE,
)
# Elements too small to hold a story: a paragraph named "article-body" is one of many.
_NOT_CONTAINERS = frozenset(("p", "span", "a", "li", "h1", "h2", "h3", "h4", "h5", "h6",
                             "figure", "figcaption", "img", "em", "strong", "b", "i", "small",
                             "time", "label", "td", "th", "tr", "table", "html", "head",
                             "script", "style", "meta", "link"))

_TEXT_LEN = etree.XPath("string-length(normalize-space(.))")
# Paragraphs: <p>, and the <div>s that are written as paragraphs (no block inside).
# A <div> with none of these inside is written as a paragraph.
_DIV_BLOCKS = frozenset(("div", "p", "section", "article", "ul", "ol", "dl", "table",
                         "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "form",
                         "aside", "nav", "header", "footer", "main", "figure"))
# A <div> counts as a paragraph only when it holds a sentence or two, not a label.
DIV_PARAGRAPH_CHARS = 80


# XML's whitespace, which normalize-space() collapses: a run of it, or one character of
# it that is not the space.
_XML_SPACES = re.compile(r"[ \t\n\r]{2,}|[\t\n\r]")


def text_length(el: etree._Element) -> int:
    """``string-length(normalize-space(.))`` of an element, without an XPath evaluation
    (which costs more than the text it measures: a page has hundreds of paragraphs)."""
    return _normalized_length(_text(el))


def text_longer_than(el: etree._Element, length: int) -> bool:
    """Whether ``text_length(el) > length``, reading no more of a long text than it
    takes: collapsing whitespace never makes the beginning of a text longer than the
    whole, so a beginning already longer decides (a block of links against the whole
    article around it, 100 times its size)."""
    text = _text(el)
    head = text[:2 * length + 64]  # ample for text with the usual spaces between words
    if len(head) < len(text) and _normalized_length(head) > length:
        return True
    return _normalized_length(text) > length


def _text(el: etree._Element) -> str:
    """The string value of an element, as XPath's ``string(.)`` reads it."""
    if len(el):
        text: str = etree.tostring(el, method="text", encoding="unicode", with_tail=False)
        return text
    return el.text or ""


def _normalized_length(text: str) -> int:
    text = text.strip(" \t\n\r")
    # Four scans in C are faster than one regex search that fails.
    if "  " in text or "\n" in text or "\t" in text or "\r" in text:
        return len(_XML_SPACES.sub(" ", text))
    return len(text)


class Prose:
    """How much paragraph text (not link text) each part of a page holds. Paragraphs are
    <p>s, <div>s written as paragraphs, and the text between the <br>s of an element."""

    __slots__ = ("_within", "lengths", "total")

    def __init__(self, root: etree._Element) -> None:
        lengths: dict[etree._Element, int] = {}
        self.lengths = lengths
        for p in root.iter("p"):
            self._add(p, 1)
        for div in root.iter("div"):
            for child in div:
                if child.tag in _DIV_BLOCKS:
                    break
            else:
                self._add(div, DIV_PARAGRAPH_CHARS)
        for br in root.iter("br"):
            el = br.getparent()
            if el is None or el.tag == "p" or el in lengths:
                continue
            # The text between the <br>s: the element's own text and its children's tails.
            own = len((el.text or "").strip()) + sum(
                len((child.tail or "").strip()) for child in el)
            if own >= DIV_PARAGRAPH_CHARS:
                lengths[el] = own
        self.total = sum(self.lengths.values())
        # Each paragraph counted in every element around it, once: elements are weighed
        # many times (candidates, furniture, the densest paragraphs' ancestors). Siblings
        # are summed first, so that their ancestors are walked once for all of them.
        within: dict[etree._Element, int] = {}
        parents: dict[etree._Element, int] = {}
        for p, length in lengths.items():
            within[p] = within.get(p, 0) + length
            parent = p.getparent()
            if parent is not None:
                parents[parent] = parents.get(parent, 0) + length
        for parent, length in parents.items():
            within[parent] = within.get(parent, 0) + length
            for ancestor in parent.iterancestors():
                within[ancestor] = within.get(ancestor, 0) + length
        self._within = within

    def _add(self, p: etree._Element, at_least: int) -> None:
        length = text_length(p)
        if length < at_least:
            return
        if len(p):
            length -= sum(text_length(a) for a in p.iter("a"))
        if length > 0:
            self.lengths[p] = length

    def of(self, el: etree._Element) -> int:
        return self._within.get(el, 0)


def is_prose(el: etree._Element) -> bool:
    """A paragraph with words of its own, not just a link."""
    if el.tag != "p":
        return False
    own = (el.text or "") + "".join(child.tail or "" for child in el)
    return bool(own.strip())


@dataclass(frozen=True, slots=True)
class Story:
    """Where the story of a page is. ``container`` is None when nothing on the page reads
    as one (then trafilatura, or the page's visible text, is what there is)."""

    container: etree._Element | None
    reading: Reading
    headline: etree._Element | None
    prose: Prose


@lru_cache(maxsize=4096)
def _story_name(names: str) -> bool:
    return bool(MAIN_ATTR.search(names))


def story_candidates(root: etree._Element) -> list[etree._Element]:
    """Every element the markup names as a story, in document order. (One walk in
    Python: an XPath that selects the classed elements builds a proxy for each, and
    costs twice as much.)"""
    found = []
    for el in root.iter():
        tag = el.tag
        if tag in _NOT_CONTAINERS or not isinstance(tag, str):
            continue
        get = el.get
        names = f"{get('class', '')} {get('id', '')}"
        if tag in ("article", "main") or (names != " " and _story_name(names)) or \
                get("role") == "main" or get("itemprop") == "articleBody":
            found.append(el)
    return found


def _inside_furniture(el: etree._Element, prose: Prose,
                      verdicts: dict[etree._Element, bool]) -> bool:
    for ancestor in el.iterancestors():
        if ancestor not in verdicts:
            verdicts[ancestor] = is_furniture(ancestor, prose, prose.total)
        if verdicts[ancestor]:
            return True
    return False


def _densest(root: etree._Element, prose: Prose,
             verdicts: dict[etree._Element, bool]) -> etree._Element | None:
    """The element whose paragraphs hold the most text (its children's in full, its
    grandchildren's at half, as Readability scores them: a story cut into wrappers of a
    few paragraphs each still adds up), outside furniture."""
    scores: dict[etree._Element, float] = {}
    for p, length in prose.lengths.items():
        parent = p.getparent()
        if parent is None:
            continue
        scores[parent] = scores.get(parent, 0.0) + length
        grand = parent.getparent()
        if grand is not None and grand.tag != "html":
            scores[grand] = scores.get(grand, 0.0) + length / 2
    for el in sorted(scores, key=scores.__getitem__, reverse=True)[:5]:
        if not looks_like_furniture(el) and not _inside_furniture(el, prose, verdicts):
            return el
    return None


def _depth(el: etree._Element) -> int:
    return sum(1 for _ in el.iterancestors())


def _container(root: etree._Element, prose: Prose) -> tuple[etree._Element | None, Reading]:
    verdicts: dict[etree._Element, bool] = {}
    candidates = [el for el in story_candidates(root)
                  if not _inside_furniture(el, prose, verdicts)]
    dense = _densest(root, prose, verdicts) if prose.total else None
    if dense is None:
        if not candidates:
            return None, Reading.PAGE
        # No paragraphs to weigh: the deepest candidate that still holds most of the text.
        lengths = {el: int(_TEXT_LEN(el)) for el in candidates}
        best = max(lengths.values())
        good = [el for el in candidates if lengths[el] >= 0.8 * best]
        return max(good, key=_depth), Reading.ARTICLE
    # The named story is the one around the page's densest paragraphs (not a teaser, a
    # video rail, or the other of two role=main sections), or inside them and holding
    # nearly all of their prose; the deepest of those that keeps most of it.
    around = {id(a) for a in dense.iterancestors()}
    dense_prose = prose.of(dense)
    holding = [el for el in candidates if el is dense or id(el) in around or (
        prose.of(el) >= 0.8 * dense_prose and dense in el.iterancestors())]
    if holding:
        best = max(prose.of(el) for el in holding)
        good = [el for el in holding if prose.of(el) >= 0.8 * best]
        return max(good, key=lambda el: (_depth(el), prose.of(el))), Reading.ARTICLE
    return _grown(dense, prose), Reading.PROSE


# An ancestor replaces the densest paragraphs' element only when it gathers clearly more
# (by this share of their prose): a paragraph more or less must not move the story.
GROW_MARGIN = 0.15


def _grown(dense: etree._Element, prose: Prose) -> etree._Element:
    """The densest paragraphs' element, or the ancestor that gathers more paragraph text
    than other text (steps of a how-to, a story cut into modules of one paragraph each).
    Furniture in an ancestor is neither its text nor its prose: the reading skips it
    (a rail of related links, a thread of comments)."""
    margin = GROW_MARGIN * prose.of(dense)
    length, paragraphs = _readable(dense, prose)
    best, best_score = dense, 2 * paragraphs - length
    below = dense
    for ancestor in dense.iterancestors():
        if ancestor.tag in ("body", "html") or looks_like_furniture(ancestor):
            break
        length += len((ancestor.text or "").strip())
        for child in ancestor:
            if isinstance(child.tag, str):
                length += len((child.tail or "").strip())
                if child is not below:
                    more, more_paragraphs = _readable(child, prose)
                    length, paragraphs = length + more, paragraphs + more_paragraphs
        score = 2 * paragraphs - length
        if score > best_score + margin:
            best, best_score = ancestor, score
        below = ancestor
    return best


def _readable(el: etree._Element, prose: Prose) -> tuple[int, int]:
    """The length of the text of ``el`` a reading takes in (its furniture left out), and
    of the paragraph text in that."""
    length = paragraphs = 0
    walk = etree.iterwalk(el, events=("start",))
    for _event, node in walk:
        if is_furniture(node, prose, prose.total):
            walk.skip_subtree()
        else:
            paragraphs += prose.lengths.get(node, 0)
            if node.text:
                length += len(node.text.strip())
        if node is not el and node.tail:
            length += len(node.tail.strip())
    return length, paragraphs


_OG_TITLE = etree.XPath("string((//meta[@property='og:title']/@content)[1])")
_PAGE_TITLE = etree.XPath("string((//title)[1])")


def read_story(root: etree._Element) -> Story:
    """Where the story of a parsed page is."""
    prose = Prose(root)
    container, reading = _container(root, prose)
    # The title the page states for itself picks the headline among several <h1>s.
    hint = str(_OG_TITLE(root)) or str(_PAGE_TITLE(root))
    headline = find_headline(root, container, hint, prose)
    if container is not None and headline is not None:
        container = _with_lead(container, headline, prose)
    return Story(container, reading, headline, prose)


# What the story's element may grow by to take in its headline and the lead under it
# (a standfirst, a byline, a photo and its credit): a share of its text, and a few lines.
LEAD_SHARE, LEAD_CHARS = 0.3, 400


def _with_lead(container: etree._Element, headline: etree._Element,
               prose: Prose) -> etree._Element:
    """The story's element, or the one around it and its headline when the headline and
    a standfirst sit outside the body (as most templates set them), and little else does
    (rows of teaser cards, which are skipped, aside). The lead and the rest are weighed
    apart: a paragraph more or less in the lead must not move what is read."""
    around = set(headline.iterancestors())
    if container in around:
        return container
    common = next((a for a in container.iterancestors() if a in around), None)
    if common is None or common.tag in ("body", "html"):
        return container
    lead = next(a for a in (headline, *around) if a.getparent() is common)
    inner, lead_length = int(_TEXT_LEN(container)), int(_TEXT_LEN(lead))
    limit = LEAD_SHARE * inner + LEAD_CHARS
    if lead_length > limit:
        return container
    rest = _read_besides(common, lead, container, prose)
    return common if rest <= limit else container


def _read_besides(common: etree._Element, lead: etree._Element, container: etree._Element,
                  prose: Prose) -> int:
    """How much text a reading of ``common`` would take in besides the lead and the
    container: furniture and rows of teaser cards are skipped by the reading, and so by
    this count."""
    whole, cards = prose.of(common), card_groups(common, prose)
    around = set(container.iterancestors())
    rest, branch = 0, common
    while branch is not container:
        step = container
        for child in branch:
            if child is lead or not isinstance(child.tag, str):
                continue
            if child is container or child in around:
                step = child
                continue
            walk = etree.iterwalk(child, events=("start",))
            for _event, el in walk:
                if el in cards or is_furniture(el, prose, whole):
                    walk.skip_subtree()
                elif el.text:
                    rest += len(el.text.strip())
                if el is not child and el.tail:
                    rest += len(el.tail.strip())
        branch = step
    return rest
