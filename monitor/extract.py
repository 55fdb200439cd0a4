"""Extract an article's own title, paragraphs and outlinks from HTML, for comparison."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from importlib.metadata import version

import lxml.html
import trafilatura
from lxml import etree
from lxml.cssselect import CSSSelector, SelectorError
from trafilatura.utils import load_html

log = logging.getLogger(__name__)

# The extractor and vigil's own way of using it: a change to either re-extracts old captures.
EXTRACTOR = f"trafilatura/{version('trafilatura')}+vigil.2"

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
_SPACE = re.compile(r"\s+")


class InvalidOption(ValueError):
    """A CSS selector or regex in a source's monitor options that does not parse."""


@dataclass(frozen=True)
class ExtractOptions:
    """Per-source comparison options."""

    include: tuple[str, ...] = ()  # CSS selectors: compare only these parts
    remove: tuple[str, ...] = ()  # CSS selectors: drop these before extraction
    ignore: tuple[str, ...] = ()  # regexes: text to ignore
    min_change: float = 0.0  # fraction of words that must change to count as an edit

    def fingerprint(self) -> str:
        """Identifies the options, so an extract made with others is redone."""
        data = json.dumps([self.include, self.remove, self.ignore], sort_keys=True)
        return hashlib.sha256(data.encode()).hexdigest()[:16]

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

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)

    @property
    def words(self) -> int:
        return sum(len(p.split()) for p in self.paragraphs)

    @property
    def text_hash(self) -> str:
        body = self.title + "\n\n" + self.text
        return "sha256:" + hashlib.sha256(body.encode("utf-8")).hexdigest()


def looks_binary(payload: bytes) -> bool:
    """Binary served as text/html: NUL bytes or mostly undecodable control bytes."""
    head = payload[:4096]
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    return bool(head) and controls / len(head) > 0.1


def _prune(payload: bytes, options: ExtractOptions) -> bytes | str:
    if not options.include and not options.remove:
        return payload
    try:
        root = lxml.html.document_fromstring(payload)
    except (etree.ParserError, ValueError):
        return payload
    for selector in options.remove:
        for el in CSSSelector(selector)(root):
            parent = el.getparent()
            if parent is not None:
                parent.remove(el)
    if options.include:
        kept = [el for selector in options.include for el in CSSSelector(selector)(root)]
        title = root.findtext(".//title") or ""
        body = "".join(etree.tostring(el, encoding="unicode") for el in kept)
        return f"<html><head><title>{title}</title></head><body>{body}</body></html>"
    return str(etree.tostring(root, encoding="unicode"))


def _clean(text: str, ignore: tuple[str, ...], *, noise: bool = True) -> str:
    """Normalise spaces and remove ignored text: the source's own patterns everywhere,
    the built-in noise patterns only in short blocks."""
    text = _SPACE.sub(" ", text).strip()
    patterns = ignore
    if noise and len(text.split()) <= NOISE_BLOCK_WORDS:
        patterns = (*DEFAULT_IGNORE, *ignore)
    for pattern in patterns:
        text = re.sub(pattern, " ", text, flags=re.IGNORECASE)
    return _SPACE.sub(" ", text).strip()


def extract(payload: bytes, url: str, options: ExtractOptions | None = None) -> Extract | None:
    """The article in an HTML payload, or None when there is none to compare."""
    options = options or ExtractOptions()
    if not payload.strip() or looks_binary(payload):
        log.info("no article to extract from %s: empty or binary payload", url)
        return None
    # One parse, with trafilatura's own charset handling; title, byline and date come from
    # the markup (its metadata extraction costs four times the text extraction).
    tree = load_html(_prune(payload, options))
    if tree is None:
        log.info("no HTML to extract from %s", url)
        return None
    head = _head_fields(tree)
    result = trafilatura.bare_extraction(
        tree, url=url, favor_precision=True, include_comments=False,
        include_tables=True, include_links=True, with_metadata=False,
    )
    body = getattr(result, "body", None)
    if result is None or body is None:
        log.info("no article extracted from %s", url)
        return None
    # A block left with no letter or digit (the "·" between removed counters) is gone.
    paragraphs = tuple(p for p in (_clean(text, options.ignore) for text in _blocks(body))
                       if any(c.isalnum() for c in p))
    outlinks = tuple(dict.fromkeys(str(ref.get("target")) for ref in body.iter("ref")
                                   if str(ref.get("target", "")).startswith("http")))
    title = _clean(head["title"] or "", options.ignore, noise=False)
    if not paragraphs and not title:
        return None
    return Extract(
        title=title,
        paragraphs=paragraphs,
        byline=head["byline"],
        published=head["published"],
        outlinks=outlinks,
        options_hash=options.fingerprint(),
    )


def _first(tree: etree._Element, xpaths: tuple[str, ...]) -> str | None:
    for xpath in xpaths:
        found = tree.xpath(xpath)
        for value in [found] if isinstance(found, str) else found:
            text = _SPACE.sub(" ", str(value)).strip()
            if text:
                return text
    return None


def _head_fields(tree: etree._Element) -> dict[str, str | None]:
    """The article's title (its headline before the page title, which carries the site's
    name), byline and publication date, as the page's markup states them."""
    return {
        "title": _first(tree, ("//meta[@property='og:title']/@content", "(//article//h1)[1]"
                               "//text()", "(//h1)[1]//text()", "//title//text()")),
        "byline": _first(tree, ("//meta[@name='author']/@content",
                                "string((//*[@rel='author'])[1])",
                                "string((//*[contains(@class, 'byline')])[1])")),
        "published": _first(tree, ("//meta[@property='article:published_time']/@content",
                                   "//time/@datetime")),
    }


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
