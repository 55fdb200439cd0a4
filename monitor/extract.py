"""Extract an article's own title, paragraphs and outlinks from HTML, for comparison.

The reader (monitor.reader) finds the story's element, named by the markup or the page's
densest paragraphs, and its visible headline; that element is read with lxml in about a
millisecond. A page where it finds none goes to trafilatura, which judges the whole page
and takes several; a page where neither finds an article is compared by its visible text,
and its extract says so (``reader``). All are deterministic, so two captures of one page
are compared by the same reading of it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import version

from lxml import etree
from lxml.cssselect import CSSSelector, SelectorError
from w3lib.encoding import html_to_unicode

from monitor.article import Block, article_blocks
from monitor.notice import SHORT_PAGE_WORDS, find_notices
from monitor.reader import Prose, Reading, Story, read_story

log = logging.getLogger(__name__)

# The extractor and vigil's own way of using it: a change to either re-extracts old captures.
EXTRACTOR = f"vigil.6+trafilatura/{version('trafilatura')}"

# Counters and relative times that change on every fetch. They are removed only from
# short blocks (a meta line such as "8.2K views · Updated 1h ago"), never from prose,
# where "sold 40,000 shares" is news.
DEFAULT_IGNORE = (
    r"\b(last\s+)?updated:?\s+(\d|an?\b|just\b).*$",
    r"\b\d[\d,.]*\s*[km]?\s*(views?|reads?|readers?|shares?|comments?|likes?)\b",
    r"\b(\d+|an?)\s*(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?)\s+ago\b",
    r"\bjust\s+now\b",
    r"\bpage\s+generated\b.*",
    r"\bgenerated\s+in\s+[\d.]+\s*m?s\b.*",
)
NOISE_BLOCK_WORDS = 15
# A block that is a label and one link ("Read more: <headline>") is a promo slot.
PROMO_LABEL_WORDS = 4
# A block whose words are nearly all link text is a menu, a tag list or a list of stories.
LINK_LIST_SHARE = 0.8


class InvalidOption(ValueError):
    """A CSS selector or regex in a source's monitor options that does not parse."""


@lru_cache(maxsize=256)
def _fingerprint(*options: tuple[str, ...]) -> str:
    # Cached: every extraction states it, and most use the same (default) options.
    data = json.dumps(list(options), sort_keys=True)
    return hashlib.sha256(data.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ExtractOptions:
    """Per-source comparison options."""

    include: tuple[str, ...] = ()  # CSS selectors: compare only these parts
    remove: tuple[str, ...] = ()  # CSS selectors: drop these before extraction
    ignore: tuple[str, ...] = ()  # regexes: text to ignore
    min_change: float = 0.0  # fraction of words that must change to count as an edit

    def fingerprint(self) -> str:
        """Identifies the options, so an extract made with others is redone."""
        return _fingerprint(self.include, self.remove, self.ignore)

    def validate(self) -> None:
        for selector in (*self.include, *self.remove):
            try:
                CSSSelector(selector)
            except SelectorError as exc:
                raise InvalidOption(f"invalid CSS selector {selector!r}: {exc}") from exc
        for pattern in self.ignore:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise InvalidOption(f"invalid regex {pattern!r}: {exc}") from exc


@dataclass(frozen=True)
class Extract:
    """What an edit is judged on: the article's own title and text, nothing around it."""

    title: str
    paragraphs: tuple[str, ...]
    byline: str | None = None
    published: str | None = None
    outlinks: tuple[str, ...] = ()
    extractor: str = EXTRACTOR
    options_hash: str = field(default="")
    # How the text was found; Reading.PAGE: no article could be read, and the text is the
    # page's visible text (furniture left out), compared rather than nothing.
    reader: str = Reading.ARTICLE
    # Short blocks anywhere on the page that read as "this article is gone": what a
    # removal is judged on when the story's element went with the story.
    notices: tuple[str, ...] = ()

    @property
    def article(self) -> bool:
        return self.reader != Reading.PAGE

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)

    @property
    def words(self) -> int:
        # Paragraphs are cleaned to single spaces between words, none at the ends.
        return sum(p.count(" ") + 1 for p in self.paragraphs if p)

    @property
    def text_hash(self) -> str:
        body = self.title + "\n\n" + self.text
        return "sha256:" + hashlib.sha256(body.encode("utf-8")).hexdigest()


_CONTROL_BYTES = bytes(b for b in range(32) if b < 9 or 13 < b < 32)


def looks_binary(payload: bytes) -> bool:
    """Binary served as text/html: NUL bytes or mostly undecodable control bytes."""
    head = payload[:4096]
    if b"\x00" in head:
        return True
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return bool(head) and controls / len(head) > 0.1


def _utf8_or_cp1252(payload: bytes) -> str:
    # No BOM and no declared charset: UTF-8 if it decodes, else what browsers assume.
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


# Plain lxml elements: lxml.html's element classes cost a Python call per element touched.
_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True)


def _parse(payload: bytes) -> etree._Element | None:
    _encoding, text = html_to_unicode("", payload, auto_detect_fun=_utf8_or_cp1252)
    try:
        try:
            root = etree.fromstring(text, _PARSER)
        except ValueError:  # an XML declaration naming an encoding: lxml wants bytes
            root = etree.fromstring(payload, _PARSER)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return None
    return root if root is not None and root.tag == "html" else None


def _prune(root: etree._Element, options: ExtractOptions) -> etree._Element:
    for selector in options.remove:
        for el in CSSSelector(selector)(root):
            parent = el.getparent()
            if parent is not None:
                parent.remove(el)
    if not options.include:
        return root
    kept = [el for selector in options.include for el in CSSSelector(selector)(root)]
    title = root.findtext(".//title") or ""
    page = etree.Element("html")
    etree.SubElement(etree.SubElement(page, "head"), "title").text = title
    body = etree.SubElement(page, "body")
    for el in kept:
        body.append(el)
    return page


# ASCII whitespace other than the space itself: str.split() splits on these.
_ASCII_SPACES = tuple(map(chr, (*range(0x09, 0x0E), *range(0x1C, 0x20))))


def normalize_spaces(text: str) -> str:
    """``" ".join(text.split())``, without splitting a block that is already so: most of
    a page's text is, and splitting it into words was a third of an extraction."""
    if text[:1] != " " and text[-1:] != " " and "  " not in text:
        if text.isascii():
            # Nine scans for one character each: faster than encoding and translating it.
            for space in _ASCII_SPACES:
                if space in text:
                    break
            else:
                return text
        # Every whitespace character but the space is a control or a separator, which
        # str.isprintable() rejects.
        elif text.isprintable():
            return text
    return " ".join(text.split())


def _clean(text: str, ignore: tuple[str, ...], *, noise: bool = True) -> str:
    """Normalise spaces and remove ignored text: the source's own patterns everywhere,
    the built-in noise patterns only in short blocks."""
    text = normalize_spaces(text)
    patterns = ignore
    # At most that many words. (Most blocks are paragraphs: their first few hundred
    # characters already hold more spaces, and counting stops there.)
    if noise and text.count(" ", 0, 256) < NOISE_BLOCK_WORDS and \
            text.count(" ") < NOISE_BLOCK_WORDS:
        patterns = (*DEFAULT_IGNORE, *ignore)
    if not patterns:
        return text
    for pattern in patterns:
        text = _compiled(pattern).sub(" ", text)
    return normalize_spaces(text)


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str]:
    # re's own cache is looked up by pattern and flags on every call: a page has hundreds
    # of short blocks, each run through every pattern.
    return re.compile(pattern, re.IGNORECASE)


def extract(payload: bytes, url: str, options: ExtractOptions | None = None) -> Extract | None:
    """The article in an HTML payload, or None when there is none to compare."""
    options = options or ExtractOptions()
    if not payload or payload.isspace() or looks_binary(payload):
        log.info("no article to extract from %s: empty or binary payload", url)
        return None
    root = _parse(payload)
    if root is None:
        log.info("no HTML to extract from %s", url)
        return None
    root = _prune(root, options)
    # Title, byline and date come from the markup, before anything is stripped.
    head = _head_fields(root)
    hint = head["title"] or ""
    if options.include:
        story = Story(root.find(".//body"), Reading.ARTICLE, None, Prose(root))
    else:
        story = read_story(root)
    reader, texts, outlinks = _read(root, story, url)
    # A block left with no letter or digit (the "·" between removed counters) is gone;
    # on a page with no article, so is one of figures alone (a counter, a clock).
    keep = str.isalpha if reader is Reading.PAGE else str.isalnum
    paragraphs = tuple(p for p in (_clean(text, options.ignore) for text in texts)
                       if keep(p[:1]) or any(keep(c) for c in p))
    # The headline a reader sees: a page's og:title is often written apart from it, for
    # search engines, and an edit of the visible one is what matters.
    headline = normalize_spaces(str(_STRING(story.headline))) \
        if story.headline is not None else ""
    title = _clean(headline or hint, options.ignore, noise=False)
    if not paragraphs and not title:
        log.info("no text extracted from %s", url)
        return None
    # A notice outside what was read matters only where the story's element was not
    # found, or holds little: elsewhere the story is there (or its notice is in it), and
    # a look over the whole page would cost a third of the extraction.
    notices = find_notices(root) if reader is not Reading.ARTICLE or \
        _at_most(paragraphs, SHORT_PAGE_WORDS) else ()
    return Extract(
        title=title,
        paragraphs=paragraphs,
        byline=head["byline"],
        published=head["published"],
        outlinks=outlinks,
        options_hash=options.fingerprint(),
        reader=reader,
        notices=notices,
    )


def _at_most(paragraphs: tuple[str, ...], words: int) -> bool:
    """Whether the paragraphs hold at most that many words (counted only that far)."""
    for p in paragraphs:
        words -= p.count(" ") + 1
        if words < 0:
            return False
    return True


def _read(root: etree._Element, story: Story, url: str,
          ) -> tuple[Reading, list[str], tuple[str, ...]]:
    """The story's blocks, by the first reader that finds any: the story's container,
    then trafilatura, then the page's visible text."""
    if story.container is not None:
        article = article_blocks(story.container, url, story.prose, story.headline)
        texts = [b.text for b in article.blocks if not _is_link_block(b)]
        if any(not t.isspace() for t in texts):
            return story.reading, texts, article.outlinks
    found = _general(root, url)
    if found is not None and found[0]:
        return Reading.TRAFILATURA, found[0], found[1]
    body = root.find(".//body")
    if body is None:
        return Reading.PAGE, [], ()
    article = article_blocks(body, url, story.prose)
    return Reading.PAGE, [b.text for b in article.blocks if not _is_link_block(b)], \
        article.outlinks


def _is_link_block(block: Block) -> bool:
    """A promo slot (a short label and one link, rotated on every fetch) or a block that
    is nearly all link text."""
    if not block.links:
        return False
    words = len(block.text.split())
    if block.links == 1 and words - block.link_words <= PROMO_LABEL_WORDS:
        return True
    return block.link_words >= LINK_LIST_SHARE * words


def _general(root: etree._Element, url: str) -> tuple[list[str], tuple[str, ...]] | None:
    """trafilatura's reading of a page whose story the reader could not find."""
    # Imported here: most pages never need it, and it costs every process a tenth of a
    # second to load.
    import trafilatura

    # trafilatura takes lxml.html elements only (a plain lxml tree is refused and read as
    # no article): it is given the page's markup, which it parses as it wants, and our
    # tree stays whole for the last reader.
    markup = etree.tostring(root, encoding="unicode", method="html")
    result = trafilatura.bare_extraction(
        markup, url=url, favor_precision=True, include_comments=False,
        include_tables=True, include_links=True, with_metadata=False,
    )
    body = getattr(result, "body", None)
    if result is None or body is None:
        return None
    outlinks = tuple(dict.fromkeys(str(ref.get("target")) for ref in body.iter("ref")
                                   if str(ref.get("target", "")).startswith("http")))
    return _blocks(body), outlinks


# The markup's own statements first; then what a reader sees. Compiled once: compiling an
# XPath costs more than running it on a page. A heading is read whole (string()): its
# first text node alone would stop at the first <em>, and miss an edit after it.
_TITLE = tuple(map(etree.XPath, ("string(//title)",)))
_STRING = etree.XPath("string(.)")
# (The attributes are found first and their elements after: a test of every element's
# attribute costs libxml2 five times as much.)
_BYLINE = tuple(map(etree.XPath, (
    "string((//@rel[. = 'author']/..)[1])",
    "string((//@class[contains(., 'byline')]/..)[1])")))
_PUBLISHED = tuple(map(etree.XPath, ("//time/@datetime",)))
# <meta> fields, read in one pass over the page's <meta> elements.
_META_FIELDS = (("property", "og:title", "title"), ("name", "author", "byline"),
                ("property", "article:published_time", "published"))


def _first(tree: etree._Element, xpaths: tuple[etree.XPath, ...]) -> str | None:
    for xpath in xpaths:
        found = xpath(tree)
        for value in [found] if isinstance(found, str) else found:
            text = normalize_spaces(str(value))
            if text:
                return text
    return None


def _head_fields(tree: etree._Element) -> dict[str, str | None]:
    """The article's title (its headline before the page title, which carries the site's
    name), byline and publication date, as the page's markup states them."""
    fields: dict[str, str | None] = {}
    for meta in tree.iter("meta"):
        content = normalize_spaces(meta.get("content") or "")
        if content:
            for attr, value, name in _META_FIELDS:
                if name not in fields and meta.get(attr) == value:
                    fields[name] = content
    for name, xpaths in (("title", _TITLE), ("byline", _BYLINE),
                         ("published", _PUBLISHED)):
        if name not in fields:
            fields[name] = _first(tree, xpaths)
    return fields


def _is_promo(el: etree._Element) -> bool:
    refs = list(el.iter("ref"))
    if len(refs) != 1:
        return False
    linked = " ".join(refs[0].itertext()).split()
    return len(" ".join(el.itertext()).split()) - len(linked) <= PROMO_LABEL_WORDS


def _blocks(body: etree._Element) -> list[str]:
    """One string per paragraph, heading, quote, list item or table row; promo slots
    (a short label and one link, rotated on every fetch) left out."""
    out: list[str] = []
    for el in body:
        if el.tag in ("list", "table"):
            parts = el.iter("item") if el.tag == "list" else el.iter("row")
            out.extend(" ".join(part.itertext()) for part in parts)
        elif not _is_promo(el):
            out.append(" ".join(el.itertext()))
    return out
