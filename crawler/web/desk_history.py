"""The desk's pages of what the archive holds: every source's state, and one page's timeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from archive.found_by import FoundBy
from archive.index import Capture
from archive.timeutil import warc_date
from crawler.app.store import Source, Store
from crawler.web.desk_auth import Visit
from crawler.web.desk_layout import (
    kind_badge,
    link,
    memento_href,
    status_text,
    timeline_href,
    when,
)
from monitor.events import Event

_PAGES = (FoundBy.SEED, FoundBy.RELATED, FoundBy.CITED)


@dataclass
class SourceState:
    source: Source
    last_capture: str | None
    next_capture: str
    failing_since: str | None = None
    failure: str | None = None
    pages: list[tuple[str, int, str, int]] = field(default_factory=list)  # url, n, last, st
    open_events: int = 0


def _is_bad(status: int | None) -> bool:
    return status is None or (status >= 400)


def source_states(store: Store, reviewed: set[int]) -> list[SourceState]:
    # Imported here: APScheduler and SQLAlchemy, half a second, for this page only.
    from crawler.scheduling.watcher import next_capture

    # Every source's pages and events in one query each: per source, each query read
    # every capture (captures have no source_id index), a full scan for every source.
    pages: dict[int, list[tuple[str, int, str, int]]] = {}
    for row in store.db.execute(
            "SELECT source_id, url, COUNT(*), MAX(timestamp), (SELECT status FROM captures c2 "
            "WHERE c2.url = c.url ORDER BY time_us DESC LIMIT 1) FROM captures c "
            "WHERE via IS NULL AND found_by IN (?, ?, ?) GROUP BY source_id, url "
            "ORDER BY found_by = 'seed' DESC, url", _PAGES):
        pages.setdefault(row[0], []).append((row[1], row[2], row[3], row[4]))
    events: dict[int, list[int]] = {}
    for source_id, event_id in store.db.execute("SELECT source_id, id FROM events"):
        events.setdefault(source_id, []).append(int(event_id))
    states = []
    sources = store.sources()
    lasts = store.last_captures(sources)
    for source in sources:
        last = lasts.get(source.id)
        state = SourceState(source, last, warc_date(next_capture(source, last)))
        fetches = [(r[0], r[1], None) for r in store.db.execute(
            "SELECT timestamp, status FROM captures WHERE url = ? AND via IS NULL",
            [source.url])]
        fetches += [(r[0], None, r[1]) for r in store.db.execute(
            "SELECT timestamp, error FROM failures WHERE url = ? AND via IS NULL",
            [source.url])]
        fetches.sort()
        for stamp, status, error in reversed(fetches):  # the run of failures at the end
            if not _is_bad(status):
                break
            state.failing_since = stamp
            state.failure = state.failure or (error or f"HTTP {status}")
        state.pages = pages.get(source.id, [])
        state.open_events = len([e for e in events.get(source.id, []) if e not in reviewed])
        states.append(state)
    return states


def _short(url: str, home: str) -> str:
    """A page of the source's own site by its path; another site's by its whole URL."""
    site = urlsplit(home)
    parts = urlsplit(url)
    if (parts.scheme, parts.netloc) == (site.scheme, site.netloc):
        return urlunsplit(("", "", parts.path, parts.query, "")) or "/"
    return url


def _state_badge(state: SourceState) -> str:
    if state.last_capture is None and state.failing_since is None:
        return "<span class='badge never'>never captured</span>"
    if state.failing_since:
        return (f"<span class='badge failing'>failing</span> since {when(state.failing_since)}"
                f" <span class='meta'>({escape(state.failure or '')})</span>")
    return "<span class='badge ok'>ok</span>"


def sources_page(states: list[SourceState], visit: Visit, flash: str | None,
                 problem: str | None) -> str:
    parts = ["<h1>Sources</h1>", f"<p class='lede'>{len(states)} source"
             f"{'' if len(states) == 1 else 's'} kept by this archive.</p>"]
    if flash:
        parts.append(f"<p class='flash' role='status'>{escape(flash)}</p>")
    if problem:
        parts.append(f"<p class='error' role='alert'>{escape(problem)}</p>")
    if visit.signed_in:
        parts.append(
            "<form class='inline card' method='post' action='/sources'>"
            f"<input type='hidden' name='csrf' value='{visit.csrf}'>"
            "<label class='meta'>Add a source (its URL)<input type='url' name='url' required "
            "placeholder='https://example.org/news/story'></label>"
            "<label class='meta'>Name (optional)<input type='text' name='name'></label>"
            "<button class='primary' type='submit'>Add source</button></form>")
    elif visit.writable:
        parts.append(signin_form(visit, "/sources", compact=True))
    rows = []
    for state in states:
        source = state.source
        pages = "".join(
            f"<li>{link(timeline_href(url), _short(url, source.url))} <span class='meta'>"
            f"{count} capture{'' if count == 1 else 's'}, HTTP {status}</span></li>"
            for url, count, _last, status in state.pages)
        listed = (f"<details><summary>{len(state.pages)} page"
                  f"{'' if len(state.pages) == 1 else 's'}</summary><ul class='pages'>{pages}"
                  "</ul></details>"
                  if state.pages else "none yet")
        opened = (link(f"/changes?source={source.name}", f"{state.open_events} open")
                  if state.open_events else "none open")
        last = when(state.last_capture) if state.last_capture else "never captured"
        rows.append(
            f"<tr><td><b>{escape(source.name)}</b><br><span class='meta'>"
            f"{link(timeline_href(source.url), source.url)}</span></td>"
            f"<td>{_state_badge(state)}</td><td>{last}</td>"
            f"<td>{when(state.next_capture)}</td><td>{listed}</td><td>{opened}</td></tr>")
    if rows:
        parts.append("<table class='list'><thead><tr><th>Source</th><th>State</th>"
                     "<th>Last capture</th><th>Next capture</th><th>Pages</th>"
                     f"<th>Events</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")
    else:
        parts.append("<p class='card'>No sources yet: <code>vigil add URL</code>.</p>")
    return "".join(parts)


def signin_form(visit: Visit, after: str, compact: bool = False, problem: str = "") -> str:
    error = f"<p class='error' role='alert'>{escape(problem)}</p>" if problem else ""
    return (f"{error}<form class='{'inline card' if compact else 'stack card'}' method='post' "
            f"action='/signin'><input type='hidden' name='csrf' value='{visit.csrf}'>"
            f"<input type='hidden' name='next' value='{escape(after)}'>"
            "<label class='meta'>Sign in to edit (the desk's token)<input type='password' "
            "name='token' autocomplete='current-password' required></label>"
            "<button class='primary' type='submit'>Sign in</button></form>")


def timeline_page(url: str, title: str, captures: list[Capture],
                  failures: list[dict[str, Any]], events: list[Event]) -> str:
    raised: dict[int, list[Event]] = {}
    loose: list[Event] = []
    ids = {c.id for c in captures}
    for event in events:
        if event.url == url and event.after_capture in ids:
            raised.setdefault(event.after_capture or -1, []).append(event)
        else:
            loose.append(event)
    rows: list[tuple[str, str]] = []
    for capture in captures:
        marks = " ".join(f"<a href='/changes/{e.id}'>{kind_badge(e.kind)} #{e.id}</a>"
                         for e in raised.get(capture.id or -1, []))
        kind = "revisit" if capture.revisit else "response"
        rows.append((capture.timestamp, f"<tr{' class=event' if marks else ''}><td>"
                     f"{link(memento_href(capture), capture.timestamp[:19].replace('T', ' '))}"
                     f"</td><td>{status_text(capture.status)}</td><td>{kind}</td>"
                     f"<td class='meta'>{escape(capture.digest[7:19])}…</td><td>{marks}</td></tr>"))
    for failure in failures:
        rows.append((failure["timestamp"], f"<tr><td>{when(failure['timestamp'])}</td>"
                     f"<td><span class='status fail'>—</span></td><td>no response</td>"
                     f"<td class='meta'>{escape(failure['error'])}</td><td></td></tr>"))
    for event in loose:
        rows.append((event.detected_at, f"<tr class='event'><td>{when(event.detected_at)}</td>"
                     f"<td></td><td>event</td><td class='meta'>{escape(event.summary)}</td>"
                     f"<td><a href='/changes/{event.id}'>{kind_badge(event.kind)} "
                     f"#{event.id}</a></td></tr>"))
    rows.sort(key=lambda r: r[0], reverse=True)
    first, last = captures[0].timestamp if captures else None, \
        captures[-1].timestamp if captures else None
    span = f", from {when(first)} to {when(last)}" if first and first != last else ""
    return "".join([
        "<p class='crumbs'><a href='/changes'>← Changes</a> · <a href='/sources'>Sources</a></p>",
        f"<h1>{escape(title)}</h1>",
        f"<p class='lede'>{escape(url)}<br>{len(captures)} capture"
        f"{'' if len(captures) == 1 else 's'}{span}; {len(events)} event"
        f"{'' if len(events) == 1 else 's'} · {link('/timemap/link/' + url, 'TimeMap')} · "
        f"{link('/timemap/json/' + url, 'JSON')}</p>",
        "<table class='list'><thead><tr><th>Captured (UTC)</th><th>Status</th><th>Record</th>"
        "<th>Details</th><th>Events</th></tr></thead><tbody>",
        "".join(r[1] for r in rows), "</tbody></table>"])
