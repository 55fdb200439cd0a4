"""Citations of an archived capture: APA, MLA, Chicago, BibTeX and Robust Links.

Each style lays out an article on a news website as its manual does (APA 7 §10.2,
MLA 9 "works in a container", Chicago 17 14.206 bibliography), with the page's own
authors, date and site name, the capture time as the date it was retrieved, and the
archived copy and its SHA-256 after. Everything from the page is escaped for the output.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from html import escape
from urllib.parse import urlsplit

from archive.metadata import clean

STYLES = ("apa", "mla", "chicago", "bibtex", "robust-link")
_MLA_MONTHS = ("Jan.", "Feb.", "Mar.", "Apr.", "May", "June", "July", "Aug.", "Sept.",
               "Oct.", "Nov.", "Dec.")
_PARTICLES = frozenset(("van", "von", "de", "der", "den", "da", "di", "du", "la", "le",
                        "del", "della", "dos", "das", "ter", "ten", "bin", "al"))


@dataclass(frozen=True)
class Citation:
    url: str
    title: str
    site: str
    captured: datetime
    archived_url: str
    sha256: str  # hex of the payload
    authors: tuple[str, ...] = ()
    published: date | None = None

    def render(self, style: str) -> str:
        return _RENDER[style](self)


def site_name(url: str) -> str:
    """A site named by its host, for pages that do not name themselves."""
    return (urlsplit(url).hostname or url).removeprefix("www.")


def parse_published(text: str | None) -> date | None:
    """The date of a stated publication time (ISO 8601 and its common shortenings)."""
    if not text:
        return None
    value = text.strip()
    match = re.match(r"^(\d{4})-(\d{1,2})-(\d{1,2})", value) or \
        re.match(r"^(\d{4})(\d{2})(\d{2})", value) or re.match(r"^(\d{4})/(\d{1,2})/(\d{1,2})",
                                                                  value)
    if match is None:
        try:  # an HTTP/RFC 2822 date: "Sat, 19 Oct 2019 00:04:00 +0200"
            return parsedate_to_datetime(value).date()
        except (TypeError, ValueError, IndexError):
            return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


# -- names --------------------------------------------------------------------------
def _split_name(name: str) -> tuple[str, str]:
    """(given names, family name) of a personal name; an organisation's or a single
    word's name is all family name."""
    text = clean(name)
    if "," in text:
        family, _, given = text.partition(",")
        return clean(given), clean(family)
    words = text.split()
    if len(words) < 2 or len(words) > 5:
        return "", text
    cut = len(words) - 1
    while cut > 1 and words[cut - 1].lower() in _PARTICLES:
        cut -= 1
    return " ".join(words[:cut]), " ".join(words[cut:])


def _initials(given: str) -> str:
    return " ".join(f"{part[0]}." for part in re.split(r"[\s]+", given) if part[:1].isalpha()
                    ).replace(". -", ".-")


def _apa_name(name: str) -> str:
    given, family = _split_name(name)
    return f"{family}, {_initials(given)}" if given else family


def _inverted(name: str) -> str:
    given, family = _split_name(name)
    return f"{family}, {given}" if given else family


def _apa_authors(names: tuple[str, ...]) -> str:
    listed = [_apa_name(n) for n in names]
    if len(listed) > 20:
        listed = [*listed[:19], "…", listed[-1]]
        return ", ".join(listed)
    if len(listed) == 1:
        return listed[0]
    return ", ".join(listed[:-1]) + ", & " + listed[-1]


def _mla_authors(names: tuple[str, ...]) -> str:
    if len(names) >= 3:
        return f"{_inverted(names[0])}, et al"
    if len(names) == 2:
        return f"{_inverted(names[0])}, and {clean(names[1])}"
    return _inverted(names[0])


def _chicago_authors(names: tuple[str, ...]) -> str:
    if len(names) > 10:
        return ", ".join([_inverted(names[0]), *map(clean, names[1:7])]) + ", et al"
    rest = [clean(n) for n in names[1:]]
    if not rest:
        return _inverted(names[0])
    return ", ".join([_inverted(names[0]), *rest[:-1]]) + ", and " + rest[-1]


def _end(text: str, mark: str = ".") -> str:
    """Text closed by ``mark`` unless it already ends in punctuation."""
    return text if text.endswith((".", "?", "!")) else text + mark


# -- styles -------------------------------------------------------------------------
def _long(day: date) -> str:
    return f"{day:%B} {day.day}, {day:%Y}"


def _apa(c: Citation) -> str:
    when = f"({c.published:%Y, %B} {c.published.day})" if c.published else "(n.d.)"
    title = _end(clean(c.title))
    head = f"{_end(_apa_authors(c.authors))} {when}. {title}" if c.authors \
        else f"{title} {when}."
    return (f"{head} {_end(clean(c.site))} Retrieved {_long(c.captured)}, from {c.url}. "
            f"Archived at {c.archived_url} (SHA-256 {c.sha256}).")


def _mla_date(day: date) -> str:
    return f"{day.day} {_MLA_MONTHS[day.month - 1]} {day.year}"


def _mla(c: Citation) -> str:
    author = f"{_end(_mla_authors(c.authors))} " if c.authors else ""
    published = f", {_mla_date(c.published)}" if c.published else ""
    return (f"{author}“{_end(clean(c.title))}” {clean(c.site)}{published}, "
            f"{c.url.split('://', 1)[-1]}. Accessed {_mla_date(c.captured)}. Archived copy, "
            f"{c.archived_url}. SHA-256 {c.sha256}.")


def _chicago(c: Citation) -> str:
    author = f"{_end(_chicago_authors(c.authors))} " if c.authors else ""
    when = f", {_long(c.published)}" if c.published else ""
    accessed = "" if c.published else f" Accessed {_long(c.captured)}."
    return (f"{author}“{_end(clean(c.title))}” {clean(c.site)}{when}.{accessed} {c.url}. "
            f"Archived {_long(c.captured)}, {c.archived_url}. SHA-256 {c.sha256}.")


# -- BibTeX -------------------------------------------------------------------------
_TEX_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&",
                "%": r"\%", "#": r"\#", "_": r"\_", "^": r"\textasciicircum{}",
                "~": r"\textasciitilde{}"}
_TEX = re.compile(r"[\\{}$&%#_^~]")


def tex(text: str) -> str:
    """Page text as an inert BibTeX/LaTeX value: every special character escaped, so
    ``\\immediate\\write18{...}`` is printed, never run."""
    return _TEX.sub(lambda m: _TEX_SPECIAL[m.group(0)], clean(text))


def tex_url(url: str) -> str:
    """A URL for a verbatim ``url`` field: braces, backslashes and spaces percent-encoded
    (a URL as fetched has none; one that did could close the field)."""
    return re.sub(r"[{}\\\s\"]", lambda m: f"%{ord(m.group(0)):02X}", clean(url))


def _key(c: Citation) -> str:
    first = _split_name(c.authors[0])[1] if c.authors else c.site
    word = next((w for w in re.findall(r"\w+", c.title) if len(w) > 3), "")
    ascii_ = unicodedata.normalize("NFKD", f"{first}{(c.published or c.captured).year}{word}")
    return re.sub(r"[^a-z0-9]+", "", ascii_.encode("ascii", "ignore").decode().lower())[:40] \
        or "vigil"


def _bibtex(c: Citation) -> str:
    fields = []
    if c.authors:
        fields.append(("author", " and ".join("{" + tex(a) + "}" if not _split_name(a)[0]
                                              else tex(_inverted(a)) for a in c.authors)))
    fields.append(("title", "{" + tex(c.title) + "}"))
    fields.append(("organization", tex(c.site)))
    if c.published:
        fields += [("date", c.published.isoformat()), ("year", str(c.published.year)),
                   ("month", str(c.published.month))]
    archived = tex_url(c.archived_url).replace("%", r"\%").replace("#", r"\#")
    fields += [("url", tex_url(c.url)), ("urldate", f"{c.captured:%Y-%m-%d}"),
               ("note", f"Archived {c.captured:%Y-%m-%dT%H:%M:%SZ} at \\url{{{archived}}}, "
                        f"SHA-256 {c.sha256}")]
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@online{{{_key(c)},\n{body}\n}}"


def _robust(c: Citation) -> str:
    # The Robust Links convention: the original as href, the memento and its date as data.
    return (f'<a href="{escape(c.url)}" data-versionurl="{escape(c.archived_url)}" '
            f'data-versiondate="{c.captured:%Y-%m-%d}">{escape(clean(c.title))}</a>')


_RENDER = {"apa": _apa, "mla": _mla, "chicago": _chicago, "bibtex": _bibtex,
           "robust-link": _robust}
