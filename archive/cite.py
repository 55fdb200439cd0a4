"""Citations of an archived capture: APA, MLA, Chicago, BibTeX and Robust Links."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from html import escape
from urllib.parse import urlsplit

STYLES = ("apa", "mla", "chicago", "bibtex", "robust-link")


@dataclass(frozen=True)
class Citation:
    url: str
    title: str
    site: str
    captured: datetime
    archived_url: str
    sha256: str  # hex of the payload

    def render(self, style: str) -> str:
        return _RENDER[style](self)


def _site(url: str) -> str:
    return (urlsplit(url).hostname or url).removeprefix("www.")


def site_name(url: str) -> str:
    return _site(url)


def _apa(c: Citation) -> str:
    return (f"{c.title}. ({c.captured:%Y, %B} {c.captured.day}). {c.site}. "
            f"Retrieved {c.captured:%B} {c.captured.day}, {c.captured:%Y}, from {c.url}. "
            f"Archived at {c.archived_url} (SHA-256 {c.sha256}).")


def _mla(c: Citation) -> str:
    return (f"“{c.title}.” {c.site}, {c.url}. Archived {c.captured.day} "
            f"{c.captured:%b. %Y}, {c.archived_url}. SHA-256 {c.sha256}.")


def _chicago(c: Citation) -> str:
    return (f"“{c.title}.” {c.site}. Accessed {c.captured:%B} {c.captured.day}, "
            f"{c.captured:%Y}. {c.url}. Archived at {c.archived_url}. SHA-256 {c.sha256}.")


def _bibtex(c: Citation) -> str:
    key = re.sub(r"[^a-z0-9]+", "", c.site.lower())[:20] + c.captured.strftime("%Y%m%d")
    return (f"@misc{{{key},\n  title = {{{c.title}}},\n  howpublished = {{\\url{{{c.url}}}}},\n"
            f"  note = {{Archived {c.captured:%Y-%m-%dT%H:%M:%SZ} at \\url{{{c.archived_url}}}, "
            f"SHA-256 {c.sha256}}},\n  urldate = {{{c.captured:%Y-%m-%d}}}\n}}")


def _robust(c: Citation) -> str:
    # The Robust Links convention: the original as href, the memento and its date as data.
    return (f'<a href="{escape(c.url)}" data-versionurl="{escape(c.archived_url)}" '
            f'data-versiondate="{c.captured:%Y-%m-%d}">{escape(c.title)}</a>')


_RENDER = {"apa": _apa, "mla": _mla, "chicago": _chicago, "bibtex": _bibtex,
           "robust-link": _robust}
