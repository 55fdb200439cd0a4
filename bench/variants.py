"""Variants of a real page: noise a monitor must ignore, edits and removals it must report.

Every variant is made from the page's own markup. The story's paragraphs are those the
test set's ground truth names (found whole in the page); noise touches only what lies
outside them (furniture, counters, times, scripts, forms, banners); edits touch only them.
Every choice is seeded by the page's name, so a run is the same as the last.
"""

from __future__ import annotations

import copy
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from lxml import etree
from w3lib.encoding import html_to_unicode

from bench.corpus import Page
from monitor.extract import _utf8_or_cp1252


class Kind(StrEnum):
    # noise
    FURNITURE = "furniture rotation"
    COUNTERS = "counters"
    TIMES = "times"
    NONCES = "script nonces, hidden inputs"
    BANNER = "cookie banner"
    ALL_NOISE = "all noise at once"
    # edits
    NUMBER = "changed number"
    WORD = "changed word"
    DELETED = "deleted paragraph"
    INSERTED = "inserted paragraph"
    HEADLINE = "changed headline"
    # removals
    GONE_404 = "404 in the site's template"
    NOTICE = "200 'no longer available' in the template"
    HOME = "redirect to the home page"


NOISE = (Kind.FURNITURE, Kind.COUNTERS, Kind.TIMES, Kind.NONCES, Kind.BANNER, Kind.ALL_NOISE)
EDITS = (Kind.NUMBER, Kind.WORD, Kind.DELETED, Kind.INSERTED, Kind.HEADLINE)
REMOVALS = (Kind.GONE_404, Kind.NOTICE, Kind.HOME)


@dataclass(frozen=True)
class Variant:
    kind: Kind
    html: bytes
    status: int = 200
    location: str | None = None
    quote: tuple[str, ...] = ()  # words an edit's event must quote


_PARSER = etree.HTMLParser(remove_comments=False)
_NUMBER = re.compile(r"(?<![\w.,])\d{1,4}(?![\w.,]?\d)")
_WORD = re.compile(r"(?<![\w'\u2019-])[a-zà-ÿ]{6,12}(?![\w'\u2019-])")
_CHARSET = re.compile(r"charset", re.IGNORECASE)
_INSERTED = (
    "The ministry later said the figures had been revised after an internal review.",
    "A spokesperson declined to comment further when reached on Tuesday evening.",
    "Correction: an earlier version of this article misstated the date of the hearing.",
    "Officials confirmed on Friday that the inquiry would be widened to three more sites.",
)
_SUBSTITUTES = ("withdrawn", "disputed", "overturned", "doubled", "abandoned", "confirmed")
_NOTICES = (
    ("Page not found", "Sorry, the page you are looking for does not exist or has been "
     "moved."),
    (None, "This article is no longer available."),
    ("Oops! That page can\u2019t be found.", "It looks like nothing was found at this "
     "location. Maybe try a search?"),
    ("Content unavailable", "The content you requested has been removed."),
    ("404", "We couldn't find the page you were looking for."),
)
_BANNERS = (
    '<div id="onetrust-banner-sdk" class="otFlat" role="dialog" aria-label="Cookie banner">',
    '<div class="cc-window cc-banner cc-type-info" role="dialog" aria-label="cookieconsent">',
    '<div id="cookie-notice" class="cookie-notice-container">',
    '<div class="gdpr-consent-popup">',
    '<div id="qc-cmp2-container" class="qc-cmp2-container">',
)
MOST_OF_THE_STORY = 0.3
_BLOCK_TAGS = ("p", "div", "li", "blockquote", "td", "dd", "span", "section")


def _normal(text: str) -> str:
    return " ".join(text.split())


def _text(el: etree._Element) -> str:
    return _normal("".join(el.itertext()))


def parse(page: Page) -> etree._Element:
    _encoding, text = html_to_unicode("", page.html, auto_detect_fun=_utf8_or_cp1252)
    try:
        root = etree.fromstring(text, _PARSER)
    except ValueError:
        root = etree.fromstring(page.html, _PARSER)
    # Served as UTF-8 from now on: the page's own charset declaration would lie.
    for meta in list(root.iter("meta")):
        if _CHARSET.search(meta.get("content", "")) or meta.get("charset") is not None:
            meta.getparent().remove(meta)
    head = root.find("head")
    if head is None:
        head = etree.Element("head")
        root.insert(0, head)
    head.insert(0, etree.Element("meta", charset="utf-8"))
    if root.find("body") is None:
        root.append(etree.Element("body"))
    return root


def serialize(root: etree._Element) -> bytes:
    return b"<!DOCTYPE html>\n" + etree.tostring(root, method="html", encoding="utf-8")


def story_elements(root: etree._Element, page: Page) -> list[etree._Element]:
    """The page's elements that are the ground truth's paragraphs (the outermost element
    whose whole text is one), in document order."""
    wanted = {_normal(p) for p in page.paragraphs}
    found: dict[str, etree._Element] = {}
    for el in root.iter(*_BLOCK_TAGS):
        text = _text(el)
        if text in wanted:
            found.setdefault(text, el)  # document order: the outermost comes first
    chosen = set(found.values())
    return [el for el in root.iter(*_BLOCK_TAGS) if el in chosen]


def _text_nodes(el: etree._Element) -> Iterator[tuple[etree._Element, str]]:
    """(element, "text"|"tail") of every text node inside ``el``, in order."""
    for node in el.iter():
        if not isinstance(node.tag, str) or node.tag in ("script", "style"):
            continue
        if node.text:
            yield node, "text"
        if node is not el and node.tail:
            yield node, "tail"


def story_region(story: list[etree._Element]) -> etree._Element | None:
    """The smallest element that holds every paragraph of the story."""
    if not story:
        return None
    region = story[0].getparent()
    for el in story[1:]:
        while region is not None and region not in el.iterancestors():
            region = region.getparent()
    return region


def _rotate_furniture(root: etree._Element, story: list[etree._Element],
                      rng: random.Random) -> None:
    """Lists of links and rows of teasers outside the story come in another order, and
    one headline of each is another story's."""
    region = story_region(story)
    inside = set(region.iter()) | set(region.iterancestors()) if region is not None \
        else set()
    for parent in list(root.iter("ul", "ol", "div", "section", "aside", "nav")):
        children = [c for c in parent if isinstance(c.tag, str)]
        if len(children) < 3 or parent in inside:
            continue
        shape = {(c.tag, c.get("class")) for c in children}
        if len(shape) != 1 or not all(c.find(".//a") is not None for c in children):
            continue
        first = children[0]
        tail = first.tail
        parent.remove(first)
        first.tail = tail
        parent.append(first)
        # Another story's headline in one of them (a link of text alone: a picture's
        # link keeps its picture).
        card = children[rng.randrange(1, len(children))]
        link = next((a for a in card.iter("a") if len(a) == 0 and _text(a)), None)
        if link is not None:
            link.text = f"Another story from the section, number {rng.randrange(1000)}"


class _Noise:
    """The noise slots of a page, filled from one seed: the base page and each noise
    variant are the same page with other seeds in some slots."""

    def __init__(self, root: etree._Element, story: list[etree._Element]) -> None:
        self.root, self.story = root, story

    def fill(self, seeds: dict[Kind, int]) -> etree._Element:
        root = copy.deepcopy(self.root)
        story = [root.getroottree().xpath(self.root.getroottree().getpath(s))[0]
                 for s in self.story]
        counters = random.Random(seeds[Kind.COUNTERS])
        times = random.Random(seeds[Kind.TIMES])
        line = etree.Element("div", {"class": "article-meta"})
        line.text = (f"Updated {times.randrange(2, 59)} minutes ago · "
                     f"{counters.randrange(1000, 99999):,} views · "
                     f"{counters.randrange(1, 400)} comments")
        if story:
            story[0].addprevious(line)
        body = root.find("body")
        assert body is not None
        ticker = etree.SubElement(body, "div", {"class": "ticker"})
        ticker.text = f"Markets {times.randrange(10, 23)}:{times.randrange(60):02d} " \
            f"FTSE {counters.randrange(7000, 8000)}.{counters.randrange(10)}"
        body.insert(0, ticker)
        nonces = random.Random(seeds[Kind.NONCES])
        for script in root.iter("script"):
            script.set("nonce", f"{nonces.getrandbits(64):016x}")
        data = etree.SubElement(body, "script", type="application/json")
        data.text = f'{{"requestId": "{nonces.getrandbits(96):024x}"}}'
        form = etree.SubElement(body, "form", action="/search", method="get")
        etree.SubElement(form, "input", type="hidden", name="csrf_token",
                         value=f"{nonces.getrandbits(128):032x}")
        etree.SubElement(form, "input", type="search", name="q")
        for other in root.iter("form"):
            if other is not form:
                etree.SubElement(other, "input", type="hidden", name="form_build_id",
                                 value=f"form-{nonces.getrandbits(64):016x}")
        if seeds[Kind.BANNER]:
            banner = random.Random(seeds[Kind.BANNER])
            markup = banner.choice(_BANNERS) + (
                "<p>We use cookies and similar technologies to improve your experience, "
                "measure our audience and show you personalised advertising. By clicking "
                "Accept you consent to this.</p><button>Accept all</button>"
                "<button>Manage settings</button></div>")
            body.insert(banner.randrange(2), etree.fromstring(markup, _PARSER)
                        .find(".//body/*"))
        if seeds[Kind.FURNITURE]:
            _rotate_furniture(root, story, random.Random(seeds[Kind.FURNITURE]))
        return root


def _words(text: str) -> set[str]:
    # Soft hyphens and a permalink's pilcrow ("History¶") are no part of a word.
    return {w.lower() for w in text.replace("\u00ad", "").replace("\u00b6", "").split()}


_HOME_HREF = re.compile(r"(\.{0,2}/)*(index\.[a-z]{2,5})?\Z", re.IGNORECASE)


def _names_the_site(heading: etree._Element) -> bool:
    """A heading that is one link to the home or an index page: the site's name, which
    an edit of the article does not touch."""
    links = list(heading.iter("a"))
    return len(links) == 1 and bool(_HOME_HREF.match((links[0].get("href") or "").strip()))


def _headline(root: etree._Element, page: Page) -> etree._Element | None:
    """The heading that shows the ground truth's title (most of its words, or most of
    the title's), an <h1> before an <h2>; else the page's only <h1>."""
    wanted = _words(page.title)
    best, best_key = None, (0.0, 0, 0)
    for level, tag in enumerate(("h1", "h2", "h3")):
        for heading in root.iter(tag):
            if _names_the_site(heading):
                continue
            words = _words(_text(heading))
            matched = len(words & wanted)
            if not words or not wanted or matched < min(3, len(words)):
                continue
            share = max(matched / len(words), matched / len(wanted))
            key = (share, matched, -level)
            if share >= 0.6 and key > best_key:
                best, best_key = heading, key
    if best is not None:
        return best
    h1s = [h for h in root.iter("h1") if _text(h)]
    return h1s[0] if len(h1s) == 1 else None


def _edit_headline(root: etree._Element, page: Page,
                   rng: random.Random) -> tuple[str, ...] | None:
    heading = _headline(root, page)
    if heading is not None:
        text = _text(heading)
        pattern = re.compile(r"(?<!\w)[^\W\d_]{4,}(?!\w)")
        copies = [h for h in root.iter("h1", "h2", "h3") if _text(h) == text]
        new = _edit_token(root, [heading], pattern, lambda old: rng.choice(
            [w for w in _SUBSTITUTES if w != old.lower()]), rng, copies)
        return (new,) if new else None
    if any(_text(h) for h in root.iter("h1")):
        return None  # the page shows a headline the ground truth does not name
    # No heading shows it: the page states its title only in its head.
    title = root.find(".//title")
    if title is None or not (title.text or "").strip():
        return None
    new = rng.choice(_SUBSTITUTES)
    title.text = f"{title.text.strip()} {new}"
    for meta in root.iter("meta"):
        if meta.get("property") == "og:title" and meta.get("content"):
            meta.set("content", f"{meta.get('content')} {new}")
    return (new,)


def _in_comments(el: etree._Element) -> bool:
    """In a readers' comment section: not the story, whatever a test set's ground truth
    holds (Readability's keeps some)."""
    return any("comment" in f"{a.get('class', '')} {a.get('id', '')}".lower()
               for a in el.iterancestors())


def _copies(root: etree._Element, text: str) -> list[etree._Element]:
    """Every element that shows this paragraph (a page may print it twice, for a small
    screen and a large one): an edit in the publishing system changes each."""
    found: list[etree._Element] = []
    for el in root.iter(*_BLOCK_TAGS):
        if _text(el) == text and not any(a in found for a in el.iterancestors()):
            found.append(el)
    return found


def _replace_nth(el: etree._Element, pattern: re.Pattern[str], nth: int, old: str,
                 new: str) -> None:
    seen = 0
    for node, where in _text_nodes(el):
        text = getattr(node, where)
        for match in pattern.finditer(text):
            if match.group(0) == old:
                if seen == nth:
                    setattr(node, where, text[:match.start()] + new + text[match.end():])
                    return
                seen += 1


def _edit_token(root: etree._Element, paragraphs: list[etree._Element],
                pattern: re.Pattern[str], make: Callable[[str], str],
                rng: random.Random, copies: list[etree._Element] | None = None) -> str | None:
    spots = [(el, m.group(0)) for el in paragraphs for _node, _where, m in (
        (n, w, m) for n, w in _text_nodes(el) for m in pattern.finditer(getattr(n, w)))]
    if not spots:
        return None
    target, old = spots[rng.randrange(len(spots))]
    nth = sum(1 for el, word in spots[:spots.index((target, old))]
              if el is target and word == old)
    new = make(old)
    for copy_ in copies if copies is not None else _copies(root, _text(target)):
        _replace_nth(copy_, pattern, nth, old, new)
    return new


def _apply_edit(kind: Kind, root: etree._Element, story: list[etree._Element], page: Page,
                rng: random.Random) -> tuple[str, ...] | None:
    story = [el for el in story if not _in_comments(el)]
    long = [el for el in story if len(_text(el).split()) >= 12] or story
    if kind is Kind.HEADLINE:
        return _edit_headline(root, page, rng)
    if not long:
        return None
    if kind is Kind.NUMBER:
        new = _edit_token(root, long, _NUMBER, lambda old: str(int(old) + 1 + (
            9 if len(old) > 1 else 0)), rng)
        return (new,) if new else None
    if kind is Kind.WORD:
        new = _edit_token(root, long, _WORD, lambda old: rng.choice(
            [w for w in _SUBSTITUTES if w != old]), rng)
        return (new,) if new else None
    # A paragraph of the story, not most of it (a page of one paragraph cut by <br>s).
    region = story_region(story)
    words = len(_text(region).split()) if region is not None else 0
    small = [el for el in long if len(_text(el).split()) < MOST_OF_THE_STORY * words]
    if not small:
        return None
    target = small[rng.randrange(len(small))]
    text = _text(target)
    if kind is Kind.DELETED:
        for copy_ in _copies(root, text):
            parent = copy_.getparent()
            assert parent is not None
            tail, previous = copy_.tail, copy_.getprevious()
            parent.remove(copy_)
            if tail:  # the text after the paragraph stays where it was
                if previous is not None:
                    previous.tail = (previous.tail or "") + tail
                else:
                    parent.text = (parent.text or "") + tail
        return tuple(text.split()[:4])
    sentence = rng.choice(_INSERTED)
    for copy_ in _copies(root, text):
        new = etree.Element(copy_.tag)
        for name, value in copy_.attrib.items():
            if name != "id" and ":" not in name:
                new.set(name, value)
        new.text = sentence
        new.tail = copy_.tail
        copy_.tail = None
        copy_.addnext(new)
    return tuple(sentence.split()[:4])


def _remove(kind: Kind, root: etree._Element, story: list[etree._Element],
            rng: random.Random) -> etree._Element:
    """The page as the site serves it once the story is gone: the template, the notice
    where the story was, what stood around it (byline, credits, counters) left in place."""
    heading, notice = _NOTICES[rng.randrange(len(_NOTICES))]
    region = story_region(story)
    if region is not None:
        first = story[0]
        paragraph = etree.Element("p")
        paragraph.text = notice
        first.addprevious(paragraph)
        for el in list(region.iter("p", *(el.tag for el in story))):
            if el is not paragraph and el.getparent() is not None and (
                    el in story or el.tag == "p"):
                el.getparent().remove(el)
    else:
        body = root.find("body")
        assert body is not None
        paragraph = etree.SubElement(body, "p")
        paragraph.text = notice
    if heading is not None:
        for h1 in root.iter("h1"):
            for child in list(h1):
                h1.remove(child)
            h1.text = heading
        title = root.find(".//title")
        if title is not None:
            title.text = f"{heading} | {title.text or ''}"
    return root


def variants(page: Page) -> tuple[bytes, list[Variant]]:
    """The page as first captured (``base``), and its variants."""
    root = parse(page)
    story = story_elements(root, page)
    noise = _Noise(root, story)
    base_seeds = {kind: 0 for kind in NOISE}
    base_seeds.update({Kind.COUNTERS: 1, Kind.TIMES: 2, Kind.NONCES: 3})
    base = serialize(noise.fill(base_seeds))
    out: list[Variant] = []
    for kind in NOISE:
        rng = random.Random(f"{page.name}/{kind.name}")
        seeds = dict(base_seeds)
        changed = NOISE[:-1] if kind is Kind.ALL_NOISE else (kind,)
        for each in changed:
            seeds[each] = rng.randrange(10, 10**9)
        out.append(Variant(kind, serialize(noise.fill(seeds))))
    for kind in EDITS:
        rng = random.Random(f"{page.name}/{kind.name}")
        tree = noise.fill(base_seeds)
        edited_story = story_elements(tree, page)
        quote = _apply_edit(kind, tree, edited_story, page, rng)
        if quote is not None:
            out.append(Variant(kind, serialize(tree), quote=quote))
    for kind in REMOVALS:
        rng = random.Random(f"{page.name}/{kind.name}")
        if kind is Kind.HOME:
            out.append(Variant(kind, b"", status=301, location="/"))
            continue
        tree = noise.fill(base_seeds)
        located = [el for el in story_elements(tree, page) if not _in_comments(el)]
        if not located and kind is Kind.NOTICE:
            continue  # no paragraph of the story found whole: nothing to take away
        tree = _remove(kind, tree, located, rng)
        out.append(Variant(kind, serialize(tree), status=404 if kind is Kind.GONE_404
                           else 200))
    return base, out
