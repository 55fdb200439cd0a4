"""Classify a page's links: main-content links, related-reading links and page requisites."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit, urlunsplit

from lxml import etree

# One reader of "where is the story" for link scope and for extraction: its element and
# its furniture are the ones edits are judged on.
from monitor.furniture import card_groups, is_furniture
from monitor.reader import (
    MAIN_ATTR,
    Prose,
    Story,
    is_prose,
    read_story,
    text_length,
    text_longer_than,
)

# Blocks that present related reading, by class/id or by their heading.
_RELATED_ATTR = re.compile(
    r"(^|[-_ ])(related|keep[-_ ]?reading|more[-_ ]?on|see[-_ ]?also|further[-_ ]?reading|"
    r"recommended|read[-_ ]?next|read[-_ ]?more|more[-_ ]?(stories|links|articles))([-_ ]|$)",
    re.IGNORECASE,
)
_RELATED_HEADING = re.compile(
    r"^\s*(related(\s+(articles?|stories|posts|reading|coverage|content|news))?|"
    r"keep\s+reading|more\s+on\b.*|more\s+from\b.*|see\s+also|further\s+reading|"
    r"read\s+(next|also|more)|you\s+may\s+also\s+like|recommended(\s+reading)?)\s*:?\s*$",
    re.IGNORECASE,
)
# Blocks of furniture known by their heading alone ("Most read" in an unclassed <div>).
_FURNITURE_HEADING = re.compile(
    r"^\s*(most\s+(read|popular|viewed|shared|commented)|popular(\s+(now|stories|posts))?|"
    r"trending(\s+now)?|latest(\s+(news|stories|posts))?|top\s+stories|"
    r"editor'?s\s+picks|newsletter|follow\s+us|share(\s+this(\s+article)?)?)\s*:?\s*$",
    re.IGNORECASE,
)
_HEADING_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6"}

# Linear in the stylesheet's length: a quoted URL ends at its quote, a bare one at the
# first character a bare URL cannot hold (a lazy match to the next ")" made a stylesheet of
# many unclosed "url(" quadratic: 1 MB took about an hour).
_CSS_URL = re.compile(r"""url\(\s*(?:(['"])([^'"\n]*)\1|([^'"()\s]*))\s*\)"""
                      r"""|@import\s+(['"])([^'"\n]+)\4""", re.IGNORECASE)
# image-set() may name images as bare strings: image-set("a.png" 1x, "b.png" 2x).
_IMAGE_SET = re.compile(r"image-set\(((?:[^()]|\([^()]*\))*)\)", re.IGNORECASE)
_QUOTED = re.compile(r"""(?<!url\()(['"])([^'"]+)\1""")
_REQUISITE_RELS = {"stylesheet", "icon", "shortcut", "apple-touch-icon", "preload",
                   "modulepreload", "mask-icon", "manifest"}


@dataclass
class PageLinks:
    """Absolute http(s) URLs found on one page, fragments removed, in document order."""

    content: list[str] = field(default_factory=list)  # links in the main content
    related: list[str] = field(default_factory=list)  # links in related-reading blocks
    requisites: list[str] = field(default_factory=list)  # images, CSS, JS, fonts, icons


def clean_url(base: str, href: str | None) -> str | None:
    """Resolve ``href`` against ``base``; None for non-http(s) or empty links."""
    if not href:
        return None
    href = href.strip()
    if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
        return None
    if _PLAIN_PATH.match(href):
        # Most links are a plain absolute path ("/a/b?c#d"): urljoin would keep the
        # base's scheme and host, and this path, as it is (urljoin is a third of the
        # time spent classifying a page's links).
        origin = _origin(base)
        if origin is not None:
            path = href.split("#", 1)[0]
            if path.find("?") == len(path) - 1:  # an empty query string is dropped
                path = path[:-1]
            return origin + path
    return _resolved(base, href)


# An absolute path ("/x", not "//host") with no dot segment and no character urlsplit
# would drop (tab, CR, LF).
_PLAIN_PATH = re.compile(r"(?![^?#]*/\.{1,2}(?:[/?#]|$))/(?!/)[^\t\r\n]*\Z")


@functools.lru_cache(maxsize=256)
def _origin(base: str) -> str | None:
    """``scheme://netloc`` of an http(s) base, or None (then the slow path decides)."""
    try:
        parts = urlsplit(base)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def _resolved(base: str, href: str) -> str | None:
    try:
        parts = urlsplit(urljoin(base, href))
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


def _tokens(el: etree._Element) -> str:
    return f"{el.get('class', '')} {el.get('id', '')}"


_CLASSED = etree.XPath("//*[@class or @id]")
# Plain lxml elements: lxml.html's element classes cost a Python call per element touched.
_PARSER = etree.HTMLParser()
_UTF8_PARSER = etree.HTMLParser(encoding="utf-8")
_REQUISITE_ELEMENTS = etree.XPath(
    "//img|//source|//video|//audio|//track|//embed|//input|//script|//link|//style"
    "|//*[@style]")


def _dedupe(urls: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(u for u in urls if u))


def _blocks(root: etree._Element, classed: list[etree._Element],
            ) -> tuple[set[etree._Element], set[etree._Element]]:
    """Related-reading blocks (known by a class/id or by their heading) and furniture
    blocks (known by their heading), as the sets of their elements."""
    related: set[etree._Element] = set()
    furniture: set[etree._Element] = set()
    for el in root.iter(*_HEADING_TAGS):
        heading = " ".join(el.itertext())
        if _RELATED_HEADING.match(heading):
            related.update(_heading_block(el))
        if _FURNITURE_HEADING.match(heading):
            furniture.update(_heading_block(el))
    related.update(el for el in classed
                   if el.tag not in _HEADING_TAGS and _RELATED_ATTR.search(_tokens(el)))
    return related, furniture


def _heading_block(heading: etree._Element) -> list[etree._Element]:
    """What a heading introduces: its own container, unless that container is the whole
    article; then the siblings after it, up to the next heading or paragraph of prose
    (an article goes on after a "Related stories" list)."""
    parent = heading.getparent()
    if parent is not None and parent.tag not in ("body", "main", "article") and not \
            MAIN_ATTR.search(_tokens(parent)):
        # Its container, if that holds less than half of the text around it (whitespace
        # collapsed, as a word count would).
        outer = parent.getparent()
        if outer is not None and text_longer_than(outer, 2 * text_length(parent)):
            return [parent]
    siblings = []
    sibling = heading.getnext()
    while sibling is not None and sibling.tag not in _HEADING_TAGS and not is_prose(sibling):
        siblings.append(sibling)
        sibling = sibling.getnext()
    return siblings


def _body(root: etree._Element) -> etree._Element:
    body = root.find(".//body")
    return body if body is not None else root


def content_scope(root: etree._Element, story: Story | None = None) -> etree._Element:
    """The element whose links are the page's content links: the story's, as the monitor
    reads it (the whole body where the reader finds no story)."""
    story = story or read_story(root)
    return story.container if story.container is not None else _body(root)


def _links_outside_furniture(container: etree._Element, skip: set[etree._Element],
                             prose: Prose, base: str) -> Iterator[str | None]:
    furniture: dict[etree._Element, bool] = {}  # links share ancestors: judge each once
    whole = prose.of(container)
    for link in container.iter("a", "area"):
        ancestors = list(link.iterancestors())
        inside = ancestors[: ancestors.index(container)] if container in ancestors else ancestors
        if link in skip:
            continue
        for a in inside:
            if a not in furniture:
                furniture[a] = a in skip or is_furniture(a, prose, whole)
        if any(furniture[a] for a in inside):
            continue
        yield clean_url(base, link.get("href"))


_SRCSET_GAP = re.compile(r"[\s,]*")
_SRCSET_URL = re.compile(r"\S+")
# A parenthesis never closed runs to the end, as the spec's parser reads it (and as a
# pattern that wanted its ")" would retry from each "(": the square of the attribute).
_SRCSET_DESCRIPTORS = re.compile(r"(?:[^,(]|\([^)]*\)?)*")


def _srcset_urls(value: str | None) -> Iterator[str]:
    """URLs of a srcset, parsed as the HTML spec does: a URL may contain commas
    (``/w_400,c_fill/a.jpg``); only a comma at its end, or after descriptors, ends it."""
    text, pos = value or "", 0
    while True:
        pos = _SRCSET_GAP.match(text, pos).end()  # type: ignore[union-attr]
        found = _SRCSET_URL.match(text, pos)
        if found is None:
            return
        url, pos = found.group(0), found.end()
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            pos = _SRCSET_DESCRIPTORS.match(text, pos).end()  # type: ignore[union-attr]
        if url:
            yield url


def css_urls(css: str, base: str) -> list[str]:
    """Images, fonts and imported stylesheets a stylesheet refers to."""
    found = [(m.start(), m.group(2) or m.group(3) or m.group(5))
             for m in _CSS_URL.finditer(css)]
    found += [(m.start(1) + q.start(), q.group(2)) for m in _IMAGE_SET.finditer(css)
              for q in _QUOTED.finditer(m.group(1))]
    return _dedupe(clean_url(base, url) for _pos, url in sorted(found))


def _requisites(root: etree._Element, base: str) -> Iterator[str | None]:
    for el in _REQUISITE_ELEMENTS(root):
        assert isinstance(el, etree._Element)
        tag = el.tag
        if tag in ("img", "source", "video", "audio", "track", "embed", "input", "script"):
            for attr in ("src", "data-src", "poster"):
                if el.get(attr) and (tag != "input" or el.get("type", "").lower() == "image"):
                    yield clean_url(base, el.get(attr))
            for attr in ("srcset", "data-srcset"):
                for url in _srcset_urls(el.get(attr)):
                    yield clean_url(base, url)
        elif tag == "link":
            rels = set(el.get("rel", "").lower().split())
            if rels & _REQUISITE_RELS:
                yield clean_url(base, el.get("href"))
        elif tag == "style" and el.text:
            yield from css_urls(el.text, base)
        if el.get("style") and "url(" in el.get("style", ""):
            yield from css_urls(el.get("style", ""), base)


def parse_page(html: str | bytes, *, utf8: bool = False) -> etree._Element | None:
    """The page's tree as link classification reads it, or None."""
    try:
        try:
            return etree.fromstring(html, _UTF8_PARSER if utf8 else _PARSER)
        except ValueError:  # text with an XML declaration naming its encoding (XHTML)
            text = html.encode("utf-8") if isinstance(html, str) else html
            return etree.fromstring(text, _UTF8_PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return None


def page_base(root: etree._Element, url: str) -> str:
    """What the page's links resolve against: its ``<base href>``, else its URL."""
    base_el = root.find(".//base[@href]")
    return clean_url(url, base_el.get("href")) or url if base_el is not None else url


def link_urls(root: etree._Element, base: str) -> list[str]:
    """Every link of the page, ``<a>`` and ``<area>``: what its content and related links
    are chosen from (finding which is which is most of the cost of reading a page)."""
    return _dedupe(clean_url(base, a.get("href")) for a in root.iter("a", "area"))


def requisites(root: etree._Element, base: str) -> list[str]:
    """Images, stylesheets, scripts, fonts and icons the page loads."""
    return _dedupe(_requisites(root, base))


def classify(root: etree._Element, base: str) -> PageLinks:
    """The page's content and related links (``requisites`` left empty)."""
    classed: list[etree._Element] = _CLASSED(root)
    blocks, furniture = _blocks(root, classed)
    story = read_story(root)
    main = content_scope(root, story)
    if main in blocks:
        main = _body(root)
    # Document order, and each link once even where blocks nest. (Few links are in blocks:
    # finding them from the blocks is cheaper than walking every link's ancestors.)
    in_blocks = {a for block in blocks for a in block.iter("a")}
    related = [clean_url(base, a.get("href")) for a in root.iter("a")
               if a in in_blocks] if in_blocks else []
    return PageLinks(
        content=_dedupe(_links_outside_furniture(
            main, blocks | furniture | card_groups(main, story.prose), story.prose, base)),
        related=_dedupe(related),
    )


def parse_html(html: str | bytes, url: str, *, utf8: bool = False) -> PageLinks:
    """Every link class vigil follows, from one parse of the page. ``utf8``: ``html`` is
    bytes known to be valid UTF-8 (lxml parses them faster than the decoded text as soon
    as it holds a character beyond Latin-1, a curly quote: ~130 µs against ~200)."""
    root = parse_page(html, utf8=utf8)
    if root is None:
        return PageLinks()
    base = page_base(root, url)
    links = classify(root, base)
    links.requisites = requisites(root, base)
    return links
