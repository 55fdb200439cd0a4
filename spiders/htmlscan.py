"""Scans of a page's raw HTML bytes in one pass: no pattern here can backtrack over the page.

A lazy ``<script>.*?</script>`` or ``[^>]*`` searched over a page tries every opening
it finds to the end of the page when the element never closes: a page of unclosed
``<style>`` tags costs the square of its length, and a nested repetition such as
``(<!--.*?-->\\s*)*`` costs exponential time (14 KB of comments after an app root held
the crawl for minutes). Here each opening is found with a pattern that matches a fixed
prefix, and the rest (the end of the tag, the closing tag) with a search that starts
where the last one stopped, so the page is read a bounded number of times.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

# What ``bytes.split()`` splits on: the characters that are not text.
SPACES = b" \t\n\r\x0b\x0c"
# Elements whose content no reader sees as text.
UNSEEN = (b"script", b"style", b"noscript", b"template", b"svg")

_BODY = re.compile(rb"<body\b", re.I)
_UNSEEN_OR_TEXT = re.compile(rb"<(" + b"|".join(UNSEEN) + rb")\b|>([^<]+)", re.I)
_WHITESPACE = re.compile(rb"\s*")
# A tag, up to the next '<' at most: a run of unclosed '<' is read once.
TAG = re.compile(rb"<[^<>]*>")


@cache
def _opening(names: tuple[bytes, ...]) -> re.Pattern[bytes]:
    return re.compile(rb"<(" + b"|".join(names) + rb")\b", re.I)


@cache
def _closing(name: bytes) -> re.Pattern[bytes]:
    return re.compile(rb"</" + re.escape(name) + rb"\s*>", re.I)


def body_start(html: bytes) -> int:
    """Where the content of ``<body>`` starts, or 0 when the page has no body tag."""
    found = _BODY.search(html)
    if found is None:
        return 0
    end = html.find(b">", found.end())
    return 0 if end == -1 else end + 1


def visible_text_length(html: bytes, enough: int = 0) -> int:
    """Characters of text in the body outside scripts, styles and templates, spaces not
    counted (rough); counting stops once past ``enough``, if given. An element of those
    that never closes hides the rest of the page, as a browser reads it."""
    count, pos = 0, body_start(html)
    while (found := _UNSEEN_OR_TEXT.search(html, pos)) is not None:
        name, run = found.group(1, 2)
        if name:
            closed = _closing(name.lower()).search(html, found.end())
            if closed is None:
                break
            pos = closed.end() - 1  # its ">" starts the text that follows
            continue
        count += len(run.translate(None, SPACES))
        if enough and count > enough:
            break
        pos = found.end()
    return count


def find_open(html: bytes, names: tuple[bytes, ...], pos: int = 0
              ) -> tuple[bytes, int, int] | None:
    """The next tag of these names from ``pos``: (lower-case name, where its attributes
    start, where its content starts), or None (also when the tag never ends)."""
    found = _opening(names).search(html, pos)
    if found is None:
        return None
    end = html.find(b">", found.end())
    return None if end == -1 else (found.group(1).lower(), found.end(), end + 1)


def elements(html: bytes, name: bytes) -> Iterator[tuple[int, int, int]]:
    """(where its attributes start, content start, content end) of each ``name`` element
    read as raw text (script, style, noscript): its content runs to its closing tag, or
    to the end of the page when it never closes."""
    closing, pos = _closing(name), 0
    while (tag := find_open(html, (name,), pos)) is not None:
        _name, attributes, content = tag
        closed = closing.search(html, content)
        if closed is None:
            yield attributes, content, len(html)
            return
        yield attributes, content, closed.start()
        pos = closed.end()


def blank_end(html: bytes, pos: int) -> int:
    """Where the whitespace and comments from ``pos`` end (the end of the page, inside a
    comment that never closes)."""
    while True:
        pos = _WHITESPACE.match(html, pos).end()  # type: ignore[union-attr]
        if not html.startswith(b"<!--", pos):
            return pos
        end = html.find(b"-->", pos + 4)
        if end == -1:
            return len(html)
        pos = end + 3
