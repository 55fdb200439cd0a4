"""The notices a site puts where an article was: "Page not found", "no longer available"."""

from __future__ import annotations

import re

from lxml import etree

# Notices that replace an article when it is taken down.
_NOT = r"(not|n[o'\u2019]t)"
_CANNOT = r"(could\s*" + _NOT + r"|can\s*not|can[\u2019']t)"
NOTICE = re.compile(
    r"\b(page|article|story|content|post|report|video|item|file|document)s?\b.{0,40}?\b("
    r"not\s+(be\s+)?found|no\s+longer\s+(be\s+)?(available|exists?|online|accessible)|"
    r"(has|have|was|were)\s+been\s+(removed|deleted|unpublished|withdrawn|taken\s+down|"
    r"expired)|" + _CANNOT + r"\s+be\s+found|does\s*" + _NOT + r"\s+exist|"
    r"(is\s+)?(currently\s+)?(unavailable|not\s+available)|(has\s+)?expired)"
    r"|(?<![\w.,])404(?![\w]|[.,]\d)|\bwe\s+" + _CANNOT + r"\s+find\b"
    r"|\bno\s+longer\s+available\b|\bnothing\s+(was\s+)?found\b"
    r"|\b(page|content)\s+you\s+(are|were|requested|[\u2019']re)\b.{0,20}?(looking\s+for|"
    r"requested|removed|moved)",
    re.IGNORECASE,
)
# A notice is a short block of its own, not a sentence inside a paragraph of reporting.
NOTICE_BLOCK_WORDS = 40
# A page this short is read whole for a notice.
SHORT_PAGE_WORDS = 150
# Text nodes that may hold a notice, found by libxml2 before any is read in Python (the
# words every notice above holds one of).
_CANDIDATES = etree.XPath(
    ".//text()[contains(., 'found') or contains(., 'Found') or contains(., 'available')"
    " or contains(., 'Available') or contains(., '404') or contains(., 'removed')"
    " or contains(., 'exist') or contains(., 'expired') or contains(., 'looking for')"
    " or contains(., 'moved') or contains(., 'deleted') or contains(., 'withdrawn')]")
_BLOCK = etree.XPath("normalize-space(.)")
# Words every notice holds one of; str.find looks for them far faster than a regex would.
_HINTS = ("found", "available", "404", "removed", "exist", "expired", "looking for", "moved",
          "deleted", "withdrawn", "unpublished", "taken down")
NEAR = 80


def _may_hold_one(text: str) -> bool:
    lower = text.lower()
    for hint in _HINTS:
        at = lower.find(hint)
        while at != -1:
            if NOTICE.search(text, max(0, at - NEAR), at + len(hint) + NEAR):
                return True
            at = lower.find(hint, at + 1)
    return False
_SILENT = frozenset(("script", "style", "noscript", "template", "nav", "footer", "aside",
                     "option", "select", "button", "title"))
_BLOCK_TAGS = frozenset(("p", "div", "section", "article", "main", "li", "td", "h1", "h2",
                         "h3", "h4", "h5", "h6", "header", "span", "strong", "b", "em"))


def is_notice(text: str) -> bool:
    return len(text.split()) <= NOTICE_BLOCK_WORDS and bool(NOTICE.search(text))


def find_notices(root: etree._Element) -> tuple[str, ...]:
    """Every short block of the page that reads as such a notice, wherever the template
    put it: a reader that looks for the story may no longer find the notice's block
    once the story has gone from it."""
    body = root.find("body")
    if body is None:
        return ()
    # Most pages hold no notice anywhere: the words around each of the few places that
    # might be one say so, without a walk of the page.
    text = etree.tostring(body, method="text", encoding="unicode")
    if not _may_hold_one(text):
        return ()
    found: dict[str, None] = {}
    for text in _CANDIDATES(body):
        parent = text.getparent()
        if parent is None:
            continue
        block = parent
        while block.tag not in _BLOCK_TAGS and block.getparent() is not None:
            block = block.getparent()
        if any(a.tag in _SILENT for a in (block, *block.iterancestors())):
            continue
        line = str(_BLOCK(block))
        if is_notice(line):
            found[line] = None
    return tuple(found)
