"""Whether a page is rendered in a browser: its source's choice, and signs of script rendering."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Final, Protocol

from spiders import htmlscan

if TYPE_CHECKING:
    from scrapy.http import Response


class BrowserMode(StrEnum):
    """A source's ``--browser``: when its pages are rendered in Chromium."""

    AUTO = "auto"  # when the page's HTML shows client-side rendering
    ALWAYS = "always"
    NEVER = "never"


# Request meta keys (spiders/meta.py holds the spider's own; these belong to rendering).
BROWSER: Final = "vigil_browser"  # the source's BrowserMode, inherited by its requests
RECORD_ID: Final = "vigil_record_id"  # WARC-Record-ID of the response record written
RENDERING: Final = "vigil_rendering"  # set on the requests a browser made for a page

# The signal the renderer sends with a record to archive beside a page's response:
# args uri, content_type, body, request (the page's), spider.
resource_captured = object()


class RenderFailed(Exception):
    """The browser did not give a capture of the page (it hung, crashed, opened a popup)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


@dataclass(frozen=True)
class Rendered:
    """What the browser showed: the DOM after scripts ran, and a full-page screenshot."""

    url: str
    html: str
    screenshot: bytes
    requested: tuple[str, ...] = ()  # every URL the browser asked for, in order
    settled: bool = True  # network idle was reached within the budget
    notes: tuple[str, ...] = field(default=())


class Renderer(Protocol):
    """What the spider needs of a browser (crawler/crawl/browser.py provides it)."""

    def mode(self, source_id: int | None) -> str: ...

    async def render(self, response: Response) -> Rendered: ...


# -- the signs of a page whose article a script writes ------------------------------
# Read with spiders.htmlscan, in one pass whatever the page holds.
_APP_TAGS = (b"div", b"main", b"section")
_APP_ID = re.compile(rb"\bid\s*=\s*[\"']?(app|root|__next|__nuxt|main-app|svelte)", re.I)
_ENABLE_JS = re.compile(rb"(enable|turn on|activate|requires?)\W+(?:\w+\W+){0,3}javascript",
                        re.I)
_SCRIPT_SRC = re.compile(rb"\bsrc\s*=", re.I)

# At least this many characters of visible body text: the page is served whole.
SHELL_TEXT = 1500
# Little text against much script: under this many characters of visible body text...
THIN_TEXT = 400
# ...with at least this many bytes of inline script, or this many external scripts.
HEAVY_SCRIPT = 20_000
MANY_SCRIPTS = 3


def _empty_app_root(html: bytes) -> bool:
    """A div, main or section with an app's id and nothing but blanks and comments in it."""
    pos = 0
    while (tag := htmlscan.find_open(html, _APP_TAGS, pos)) is not None:
        name, attributes, content = tag
        blank = htmlscan.blank_end(html, content)
        if _APP_ID.search(html, attributes, content) and \
                html[blank:blank + len(name) + 3].lower() == b"</" + name + b">":
            return True
        pos = blank
    return False


def client_rendered(html: bytes) -> str | None:
    """Why the HTML looks rendered by script, or None when it reads as a plain page."""
    # A page whose body already holds an article's worth of text is served whole, whatever
    # widget mounts on it or notice it keeps for readers without JavaScript (5 of the
    # corpus's 176 real pages have one, each with 2,800 characters of text or more).
    text = htmlscan.visible_text_length(html, enough=SHELL_TEXT)
    if text >= SHELL_TEXT:
        return None
    if _empty_app_root(html):
        return "an empty app root"
    for _attributes, start, end in htmlscan.elements(html, b"noscript"):
        if _ENABLE_JS.search(htmlscan.TAG.sub(b" ", html[start:end])):
            return "a <noscript> notice asks for JavaScript"
    if text >= THIN_TEXT:
        return None
    scripts = list(htmlscan.elements(html, b"script"))
    inline = sum(end - start for _attributes, start, end in scripts)
    external = sum(1 for attributes, start, _end in scripts
                   if _SCRIPT_SRC.search(html, attributes, start))
    if inline >= HEAVY_SCRIPT or external >= MANY_SCRIPTS:
        return f"{text} characters of text against {inline} bytes of inline script " \
               f"and {external} scripts"
    return None


def wants_rendering(mode: str | None, html: bytes) -> bool:
    """Whether a page of a source with this ``--browser`` is rendered."""
    if mode == BrowserMode.ALWAYS:
        return True
    if mode == BrowserMode.NEVER:
        return False
    return client_rendered(html) is not None
