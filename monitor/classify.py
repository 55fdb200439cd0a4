"""Decide what one fetch of a page says about it: fine, removed (hard or soft), moved, failing."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import StrEnum
from http import HTTPStatus
from urllib.parse import urlsplit

from archive.urls import is_listing_page, same_page
from monitor.extract import Extract
from monitor.notice import NOTICE, SHORT_PAGE_WORDS, is_notice


class Verdict(StrEnum):
    OK = "ok"
    REMOVED = "removed"
    MOVED = "moved"
    FAILING = "failing"  # 5xx, 429, timeouts, resets: maybe transient
    UNREACHABLE = "unreachable"  # DNS or connection refused: the host is not there


# A page this short, or this much shorter than its last good version, or this unlike it, is
# read whole for a notice that was not there before: a template keeps a byline, a photo
# credit, a date, share counters or a ticker around it, before it or after, and a reader
# may have moved off the element the story left.
NOTICE_MAX_WORDS = SHORT_PAGE_WORDS
SHRUNK_RATIO, UNLIKE_PREVIOUS = 0.85, 0.5
# A headline that became a notice ("Page not found") is one at any length of page.
NOTICE_TITLE_WORDS = 10
STUB_MIN_BEFORE, STUB_RATIO = 100, 0.25
PROBE_SIMILARITY = 0.8
_NETWORK_DOWN = ("DNSLookupError", "ConnectionRefused", "NoRouteError", "DownloadConnectionRefused")


@dataclass(frozen=True, slots=True)
class Fetch:
    """One monitored URL in one crawl: where its redirects led and what was found there."""

    url: str
    status: int | None  # of the URL itself; None when no response came
    error: str | None = None  # the failure's name when no response came
    location: str | None = None  # the redirect target, for a 3xx
    final_url: str | None = None  # where the redirect chain ended in this crawl
    final_status: int | None = None
    extract: Extract | None = None  # of the final 2xx HTML page


@dataclass(frozen=True, slots=True)
class Finding:
    verdict: Verdict
    reason: str
    new_url: str | None = None


def status_text(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _similarity(a: Extract, b: Extract) -> float:
    return difflib.SequenceMatcher(None, a.text.split(), b.text.split(), autojunk=False).ratio()


def _is_home_or_section(target: str, origin: str) -> str | None:
    path = urlsplit(target).path
    if path in ("", "/"):
        return "the home page"
    depth = len([p for p in path.split("/") if p])
    if is_listing_page(target) or (depth <= 1 and len([
            p for p in urlsplit(origin).path.split("/") if p]) > depth):
        return "a section page"
    return None


def _notice(page: Extract, previous: Extract | None) -> str | None:
    """A block of the page that says the article is gone and was not there before."""
    # The headline, read as a block of the story too, is the title's to report.
    before = set(previous.paragraphs) if previous is not None else set()
    before.add(page.title)
    return next((p for p in (*page.paragraphs, *page.notices)
                 if p not in before and is_notice(p)), None)


def _content(fetch: Fetch, previous: Extract | None, probe: Extract | None) -> Finding:
    page = fetch.extract
    if page is None:
        return Finding(Verdict.OK, "answers")
    title_gone = previous is not None and len(page.title.split()) <= NOTICE_TITLE_WORDS \
        and bool(NOTICE.search(page.title)) and not NOTICE.search(previous.title)
    changed = title_gone or page.words <= NOTICE_MAX_WORDS or (previous is not None and (
        page.words < SHRUNK_RATIO * previous.words
        or _similarity(page, previous) < UNLIKE_PREVIOUS))
    # The notice's own words where the page has them; else the headline that became one.
    sentence = (_notice(page, previous) or (page.title if title_gone else None)) \
        if changed else None
    if sentence is not None:
        return Finding(Verdict.REMOVED, f"the article was replaced by a notice: "
                                        f"“{sentence[:120]}”")
    # The probe tells nothing when the last good capture looked like it too: a site that
    # answers any URL under the article's path with the article (routing on an id).
    if probe is not None and page.words and _similarity(page, probe) >= PROBE_SIMILARITY \
            and (previous is None or _similarity(previous, probe) < PROBE_SIMILARITY):
        return Finding(Verdict.REMOVED, "the page now looks like the site's not-found page")
    if previous is not None and previous.words >= STUB_MIN_BEFORE and \
            page.words < STUB_RATIO * previous.words:
        return Finding(Verdict.REMOVED, f"the article shrank to a stub ({page.words} of "
                                        f"{previous.words} words)")
    return Finding(Verdict.OK, "answers with its content")


def classify(fetch: Fetch, previous: Extract | None = None,
             probe: Extract | None = None) -> Finding:
    """What this fetch says. ``previous`` is the last good extract of the page; ``probe``
    the extract of the site's answer to a URL that never existed, when that was a 200."""
    status = fetch.status
    if status is None:
        error = fetch.error or "no response"
        if any(name in error for name in _NETWORK_DOWN):
            return Finding(Verdict.UNREACHABLE, f"no connection ({error})")
        return Finding(Verdict.FAILING, f"no response ({error})")
    if status in (408, 429) or status >= 500:
        return Finding(Verdict.FAILING, status_text(status))
    if 400 <= status < 500:
        return Finding(Verdict.REMOVED, status_text(status))
    if 300 <= status < 400 and status != 304:
        target = fetch.final_url or fetch.location
        if target is None:
            return Finding(Verdict.FAILING, f"{status_text(status)} without a Location")
        scheme = urlsplit(target).scheme.lower()
        if scheme not in ("", "http", "https"):
            # file:, ftp:, data:: no page of the web the article could have moved to.
            return Finding(Verdict.FAILING, f"redirects to a non-web address "
                                            f"({target[:80]})")
        final = fetch.final_status
        if target == fetch.url or (final is not None and 300 <= final < 400
                                   and final != 304):
            return Finding(Verdict.FAILING, f"redirect loop ({target[:80]})")
        where = _is_home_or_section(target, fetch.url)
        if where:
            return Finding(Verdict.REMOVED, f"redirects to {where} ({target})", new_url=target)
        if final is not None and final != status:
            # Judge the page the redirect led to: a dead or failing end is that.
            ended = classify(Fetch(url=target, status=final, extract=fetch.extract),
                             previous, probe)
            if ended.verdict is not Verdict.OK:
                return ended
        if same_page(fetch.url, target):  # http->https, www, a trailing slash
            return _content(fetch, previous, probe)
        return Finding(Verdict.MOVED, f"moved to {target}", new_url=target)
    return _content(fetch, previous, probe)
