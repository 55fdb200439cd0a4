"""After a crawl: compare each monitored page with its last good capture and raise events."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlite_utils import Database

from archive.fetches import CrawlFetches, Row
from archive.found_by import MONITORED_PAGES, FoundBy
from archive.index import is_html, resolved_query
from archive.payload import DecodeCapExceeded, is_stored_digest
from archive.reader import RecordNotFound, read_record
from archive.resources import dom_uri
from archive.urls import site_key
from monitor.classify import Fetch, Finding, Verdict, classify
from monitor.compare import compare
from monitor.events import Event, EventLog, Kind, PageState, State, StateTable
from monitor.extract import EXTRACTOR, Extract, ExtractOptions, extract
from monitor.reader import Reading

log = logging.getLogger(__name__)

PAGE_KINDS = tuple(str(kind) for kind in MONITORED_PAGES)


# A page larger than this is not parsed (the crawl's CRAWL_PARSE_LIMIT, 8 MiB, does not
# read its links either): it is compared by digest, as a file is, so that its memory and
# time stay bounded whatever it holds.
READ_LIMIT = 8 * 1024 * 1024


def within_read_limit(size: int | None, limit: int = READ_LIMIT) -> bool:
    """Whether a payload of this many bytes is read whole (its size unknown: it is)."""
    return (size or 0) <= limit


@dataclass(frozen=True)
class MonitorSettings:
    unreachable_after: int = 3  # consecutive failing crawls before `unreachable`
    read_limit: int = READ_LIMIT  # bytes of payload a page is read whole up to


@dataclass(frozen=True, slots=True)
class _Observed:
    fetch: Fetch
    row: Row  # the capture (or failure) row of the URL itself
    final: Row | None  # the capture where its redirects ended
    cited: bool
    options: ExtractOptions
    state: PageState


def source_options(row: dict[str, Any]) -> ExtractOptions:
    def items(column: str) -> tuple[str, ...]:
        return tuple(json.loads(row.get(column) or "[]"))
    return ExtractOptions(include=items("include_selectors"), remove=items("remove_selectors"),
                          ignore=items("ignore_patterns"),
                          min_change=float(row.get("min_change") or 0.0))


class Monitor:
    def __init__(self, db: Database, warc_dir: Path,
                 settings: MonitorSettings | None = None) -> None:
        self.db = db
        self.warc_dir = warc_dir
        self.settings = settings or MonitorSettings()
        self.events = EventLog(db)
        self.states = StateTable(db)
        self.fetches = CrawlFetches(db)

    # -- extracts, cached per capture and redone when the extractor changes ----------
    def _payload_of(self, capture: Row | None) -> Row | None:
        """The capture whose payload is read for ``capture``: for a page the browser
        rendered, the DOM it rendered in that crawl (the text a reader saw; the shell the
        server sent may be the same bytes every time), else the payload it holds."""
        if capture is None:
            return None
        rendered = next(self.db.query(resolved_query(
            None, "url = ? AND crawl_id IS ? ORDER BY time_us DESC LIMIT 1"),
            [dom_uri(capture["url"]), capture["crawl_id"]]), None)
        return rendered or self.fetches.payload_holder(capture)

    def extract_of(self, capture: Row | None, options: ExtractOptions) -> Extract | None:
        url = capture["url"] if capture is not None else ""
        capture = self._payload_of(capture)
        if capture is None or not 200 <= capture["status"] < 300 or not self._readable(capture):
            return None
        cached = next(self.db.query("SELECT * FROM extracts WHERE capture_id = ?",
                                    [capture["id"]]), None)
        if cached is not None and cached["extractor"] == EXTRACTOR and \
                cached["options_hash"] == options.fingerprint():
            if cached["words"] is None:
                return None
            return Extract(
                title=cached["title"],
                paragraphs=tuple(cached["text"].split("\n")) if cached["text"] else (),
                byline=cached["byline"], published=cached["published"],
                outlinks=tuple(json.loads(cached["outlinks"] or "[]")),
                options_hash=cached["options_hash"], reader=cached["reader"],
                notices=tuple(json.loads(cached["notices"] or "[]")))
        if is_stored_digest(capture["digest"]):
            return None  # past the decode cap when archived: there is no text to compare
        try:
            payload = read_record(self.warc_dir, capture["warc"], capture["offset"]).payload(
                cap=self.settings.read_limit)
        except (RecordNotFound, DecodeCapExceeded) as exc:
            log.warning("cannot re-read %s for comparison: %s", capture["url"], exc)
            return None
        found = extract(payload, url, options)
        self.db.table("extracts").upsert({
            "capture_id": capture["id"], "extractor": EXTRACTOR,
            "options_hash": options.fingerprint(),
            "title": found.title if found else None, "text": found.text if found else None,
            "text_hash": found.text_hash if found else None,
            "words": found.words if found else None,
            "byline": found.byline if found else None,
            "published": found.published if found else None,
            "outlinks": json.dumps(list(found.outlinks)) if found else None,
            "reader": found.reader if found else None,
            "notices": json.dumps(list(found.notices)) if found else None,
        }, pk="capture_id")
        return found

    # -- one crawl -------------------------------------------------------------------
    def run(self, crawl_id: int) -> list[Event]:
        """Raise the events this crawl reveals; each is raised once, by the first crawl."""
        with self.db.conn:
            new = self._run(crawl_id)
        return new

    def _observe(self, crawl_id: int) -> list[_Observed]:
        sources = {r["id"]: r for r in self.db.table("sources").rows}
        latest: dict[str, Row] = {}
        for row in self.fetches.first_fetches(crawl_id, PAGE_KINDS):
            # A failure counts only when it came after the URL's last capture.
            if row["kind"] == "capture" or row["url"] not in latest or \
                    latest[row["url"]]["timestamp"] < row["timestamp"]:
                latest[row["url"]] = row
        observed = []
        plain = ExtractOptions()
        options_of = {source_id: source_options(row) for source_id, row in sources.items()}
        for url, row in latest.items():
            source_id = row.get("source_id")
            cited = row["found_by"] == FoundBy.CITED
            options = options_of.get(source_id, plain) if not cited and source_id is not None \
                else plain
            final = row if row["kind"] == "capture" else None
            final_status = None
            if final is not None and 300 <= row["status"] < 400 and row["status"] != 304:
                final = self.fetches.redirect_end(crawl_id, url)
                final_status = final["status"] if final else None
            state = self.states.get(url)
            fetch = Fetch(
                url=url,
                status=row["status"] if row["kind"] == "capture" else None,
                error=row.get("error"),
                location=row.get("location"),
                final_url=final["url"] if final else None,
                final_status=final_status,
                extract=self._extract_if_needed(final, state, options),
            )
            observed.append(_Observed(fetch, row, final, cited, options, state))
        return observed

    def _extract_if_needed(self, final: Row | None, state: PageState,
                           options: ExtractOptions) -> Extract | None:
        """Extraction is the monitor's cost: skip it when nothing can be learned from it.
        A first capture has nothing to compare with, and a payload identical to the last
        good one cannot have changed (the verdict on it stands). Either is extracted
        later, and cached, if a comparison ever needs it."""
        baseline = self._payload_of(self.fetches.capture(state.last_good))
        current = self._payload_of(final)
        if baseline is None or current is None or baseline["digest"] == current["digest"]:
            return None
        return self.extract_of(final, options)

    def _readable(self, capture: Row) -> bool:
        """An HTML page small enough to be read whole."""
        return _is_html(capture) and within_read_limit(capture.get("size"),
                                                       self.settings.read_limit)

    def _probes(self, crawl_id: int) -> dict[str, Extract]:
        probes = {}
        # Read whole first: extract_of writes to the table the query would hold open.
        for row in list(self.fetches.probes(crawl_id)):
            found = self.extract_of(row, ExtractOptions())
            if found is not None:
                probes[site_key(row["url"])] = found
        return probes

    def _run(self, crawl_id: int) -> list[Event]:
        observed = self._observe(crawl_id)
        probes = self._probes(crawl_id)
        findings = []
        for item in observed:
            state = item.state
            previous = None
            if item.fetch.extract is not None:  # only then is there something to compare
                previous = self.extract_of(self.fetches.capture(state.last_good), item.options)
            finding = classify(item.fetch, previous, probes.get(site_key(item.fetch.url)))
            findings.append((item, state, finding))
        down_hosts, new = self._down_hosts(findings, crawl_id)
        for item, state, finding in findings:
            step = self._cited if item.cited else self._page
            new += step(item, state, finding, crawl_id,
                        quiet=site_key(item.fetch.url) in down_hosts)
            self.states.put(state)
        return new

    # -- transitions -----------------------------------------------------------------
    def _event(self, kind: str, item: _Observed, summary: str, crawl_id: int,
               state: PageState, details: dict[str, Any] | None = None,
               url: str | None = None, link: str | None = None,
               before: Row | None = None) -> Event:
        after = item.final or (item.row if item.row["kind"] == "capture" else None)
        event = self.events.add(Event(
            kind=kind, url=url or item.fetch.url, link=link, summary=summary,
            details=details or {}, crawl_id=crawl_id, source_id=item.row.get("source_id"),
            before_capture=before["id"] if before else None,
            before=before["timestamp"] if before else None,
            after_capture=after["id"] if after else None,
            after=after["timestamp"] if after else None,
        ))
        state.event_id = event.id
        state.since = event.detected_at
        log.info("%s: %s", kind, event.summary)
        return event

    def _page(self, item: _Observed, state: PageState, finding: Finding, crawl_id: int,
              quiet: bool) -> list[Event]:
        """Pages of the source's own site: edited, removed, moved, unreachable, restored."""
        events: list[Event] = []
        before = self.fetches.capture(state.last_good)
        if finding.verdict in (Verdict.FAILING, Verdict.UNREACHABLE):
            state.streak += 1
            if state.streak == self.settings.unreachable_after and not quiet:
                events.append(self._event(
                    Kind.UNREACHABLE, item, f"Unreachable in {state.streak} consecutive crawls: "
                    f"{finding.reason}", crawl_id, state, {"reason": finding.reason}))
            return events
        state.streak = 0
        if finding.verdict is Verdict.REMOVED:
            if state.state != State.REMOVED and before is not None:
                events.append(self._event(Kind.REMOVED, item, f"Removed: {finding.reason}",
                                          crawl_id, state, {"reason": finding.reason,
                                                            "redirect": finding.new_url},
                                          before=before))
            state.state = State.REMOVED
        elif finding.verdict is Verdict.MOVED:
            # A first capture raises nothing: there was no page yet to have moved.
            if (state.state, state.target) != (State.MOVED, finding.new_url) and \
                    before is not None:
                events.append(self._event(Kind.MOVED, item, f"Moved to {finding.new_url}",
                                          crawl_id, state, {"new_url": finding.new_url},
                                          before=before))
            state.state, state.target = State.MOVED, finding.new_url
        else:
            if state.state == State.REMOVED and before is not None:
                events.append(self._event(Kind.RESTORED, item, "Restored: answers again with "
                                          "its content", crawl_id, state, before=before))
            elif before is not None and item.final is not None:
                events += self._compare(item, state, before, crawl_id)
            state.state = State.OK
            if item.final is not None:
                state.last_good = item.final["id"]
        return events

    def _compare(self, item: _Observed, state: PageState, before: Row,
                 crawl_id: int) -> list[Event]:
        assert item.final is not None
        new = item.fetch.extract
        # No new extract: the payload is the last good one, or not an article; the old
        # capture's extract would teach nothing (and cost a parse and a row per page).
        old = self.extract_of(before, item.options) if new is not None else None
        if old is not None and new is not None:
            edit = compare(old, new, item.options.min_change)
            if edit is None:
                return []
            return [self._event(Kind.EDITED, item, edit.summary(), crawl_id, state,
                                edit.details(), before=before)]
        # Files that are not HTML, and pages too large to read, compare by digest; an HTML
        # page with no article to extract compares as nothing (its bytes change with every
        # ad and timestamp).
        holders = self.fetches.payload_holder(before), self.fetches.payload_holder(item.final)
        if not any(h is None or self._readable(h) for h in holders) and \
                before["digest"] != item.final["digest"]:
            what = "the file changed" if not _is_html(item.final) else \
                f"the page changed (too large to read whole: {item.final.get('size')} bytes)"
            return [self._event(Kind.EDITED, item, f"Edited: {what} "
                                f"({before['digest'][:19]}… → {item.final['digest'][:19]}…)",
                                crawl_id, state, {"digest_before": before["digest"],
                                                  "digest_after": item.final["digest"]},
                                before=before)]
        return []

    def _cited(self, item: _Observed, state: PageState, finding: Finding, crawl_id: int,
               quiet: bool) -> list[Event]:
        """A cited page raises only `dead_link`, on the page that cites it."""
        before = self.fetches.capture(state.last_good)
        if finding.verdict in (Verdict.REMOVED, Verdict.UNREACHABLE):
            events = []
            if state.state != State.DEAD and before is not None:
                citing = item.row.get("referrer") or item.fetch.url
                events.append(self._event(
                    Kind.DEAD_LINK, item, f"Cited link died: {item.fetch.url} ({finding.reason})",
                    crawl_id, state, {"reason": finding.reason}, url=citing,
                    link=item.fetch.url, before=before))
            state.state = State.DEAD
            return events
        if finding.verdict is not Verdict.FAILING:
            state.state = State.OK
            final = item.final
            if final is not None and 200 <= (final.get("payload_status") or final["status"]) < 300:
                state.last_good = final["id"]
        return []

    def _down_hosts(self, findings: list[tuple[_Observed, PageState, Finding]],
                    crawl_id: int) -> tuple[set[str], list[Event]]:
        """Hosts where every monitored page failed, and the one `unreachable` event per
        host that has been down long enough (its pages then stay quiet)."""
        by_host: dict[str, list[tuple[_Observed, Finding]]] = defaultdict(list)
        for item, _state, finding in findings:
            if not item.cited:
                by_host[site_key(item.fetch.url)].append((item, finding))
        down: set[str] = set()
        events: list[Event] = []
        for host, pages in by_host.items():
            if len(pages) < 2:
                continue  # one page is reported as itself
            state = self.states.get(f"host:{host}")
            failing = [f for _i, f in pages if f.verdict in (Verdict.FAILING,
                                                              Verdict.UNREACHABLE)]
            if len(failing) < len(pages):
                state.streak = 0
                self.states.put(state)
                continue
            state.streak += 1
            if state.streak == self.settings.unreachable_after:
                item = pages[0][0]
                parts = urlsplit(item.fetch.url)
                events.append(self._event(
                    Kind.UNREACHABLE, item, f"Unreachable in {state.streak} consecutive crawls: "
                    f"every page of {parts.netloc} failed ({failing[0].reason})", crawl_id,
                    state, {"host": parts.netloc, "pages": len(pages)},
                    url=f"{parts.scheme}://{parts.netloc}/"))
            self.states.put(state)
            down.add(host)
        return down, events


def _is_html(capture: Row) -> bool:
    return is_html(capture.get("content_type"))


def read_as_visible_text(db: Database, crawl_id: int) -> int:
    """How many of a crawl's captures the monitor read as visible text: no article
    could be found in them, and the page's text was compared instead."""
    row = db.execute(
        "SELECT COUNT(*) FROM extracts e JOIN captures c ON c.id = e.capture_id "
        "WHERE c.crawl_id = ? AND e.reader = ?", [crawl_id, str(Reading.PAGE)]).fetchone()
    return int(row[0])
