"""The story's headline: the heading a reader sees as it, among the page's headings."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from lxml import etree

from monitor.furniture import STORY_SHARE, element_names, furniture_name, hidden_name

if TYPE_CHECKING:
    from monitor.reader import Prose

_TEXT = etree.XPath("normalize-space(.)")


def _is_logo(heading: etree._Element) -> bool:
    names = element_names(heading).lower()
    if "logo" in names or "site-title" in names or "site-name" in names or "brand" in names:
        return True
    links = list(heading.iter("a"))
    return len(links) == 1 and bool(_HOME_HREF.match((links[0].get("href") or "").strip()))


# A link to the site's home or a section's index: "/", "./", "../index.html".
_HOME_HREF = re.compile(r"(\.{0,2}/)*(index\.[a-z]{2,5})?\Z", re.IGNORECASE)
# Stripped from the ends of words, with the pilcrow of a heading's permalink ("History¶").
_PUNCTUATION = ".,:;!?\"'()\u00ab\u00bb\u2018\u2019\u201c\u201d\u00b6"


_INVISIBLE_CHARS = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))


def _words(text: str) -> set[str]:
    """Its words, as a reader sees them (soft hyphens and zero-width spaces are not)."""
    return {w.lower().strip(_PUNCTUATION) for w in text.translate(_INVISIBLE_CHARS).split()}


# A heading is the headline the page states (og:title, <title>) when half its words are in
# it, and at least this many (a heading of fewer words: all of them but one, so that the
# headline edited stays the headline).
HEADLINE_SHARE, OTHER_HEADLINE_SHARE, HEADLINE_WORDS = 0.5, 0.6, 3
_HEADLINE_TAGS = ("h1", "h2", "h3")


def find_headline(root: etree._Element, container: etree._Element | None, hint: str,
              prose: Prose) -> etree._Element | None:
    """The heading a reader sees as the story's headline: an <h1> that shows the title
    the page states for itself (``hint``), else the first <h1> in the story, else an
    <h2> or <h3> that shows it, else the first <h1> outside furniture."""
    wanted = _words(hint)
    inside = set(container.iter(*_HEADLINE_TAGS)) if container is not None else set()
    best: dict[bool, tuple[tuple[float, bool], int, etree._Element]] = {}
    first_inside = first_h1 = None
    for heading in root.iter(*_HEADLINE_TAGS):
        text = str(_TEXT(heading))
        if not text or _is_logo(heading) or _hidden(heading):
            continue
        words = _words(text)
        matched = len(words & wanted)
        h1 = heading.tag == "h1"
        # An <h2> or <h3> must show most of the title; an <h1>, the page's own heading,
        # half of it; either keeps doing so once one of its words is edited.
        least = max(1 if h1 else 2, len(words) - 1)
        shows = bool(words) and matched >= min(HEADLINE_WORDS, least) and \
            matched / len(words) >= (HEADLINE_SHARE if h1 else OTHER_HEADLINE_SHARE)
        # An <h1> that shows the page's title is its headline wherever the template put
        # it (in a wrapper named for its breadcrumb, say); any other heading only outside
        # the page's furniture.
        if not (shows and h1) and _in_furniture(heading, prose):
            continue
        if h1 and heading in inside and first_inside is None:
            first_inside = heading
        if h1 and first_h1 is None:
            first_h1 = heading
        if shows:
            key = (matched / len(words), heading in inside)
            if h1 not in best or key > best[h1][0]:
                best[h1] = (key, matched, heading)
    # An <h1> that shows the title, unless an <h2>/<h3> shows far more of it (a blog's
    # name in the <h1>, the post's title in an <h3>).
    if True in best and (False not in best or best[False][1] <= 2 * best[True][1]):
        return best[True][2]
    if first_inside is not None:
        return first_inside
    if False in best:
        return best[False][2]
    return first_h1


def _in_furniture(heading: etree._Element, prose: Prose) -> bool:
    """Inside the page's navigation, rails or footer (a wrapper named as furniture that
    holds most of the page's prose is the page's, as an off-canvas menu's is)."""
    return any(a.tag in ("nav", "footer", "aside") or a.get("role") in (
        "navigation", "contentinfo", "complementary") or (
        a.tag not in ("body", "html") and element_names(a) != " "
        and furniture_name(element_names(a)) and prose.of(a) < STORY_SHARE * prose.total)
        for a in heading.iterancestors())


def _hidden(el: etree._Element) -> bool:
    for node in (el, *el.iterancestors()):
        names = element_names(node)
        if node.get("hidden") is not None or (names != " " and hidden_name(names)):
            return True
    return False
