"""What a reader of one event needs: the headline, the two captures, the article's diff."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from archive.index import Capture, CaptureIndex
from monitor.changes import titles
from monitor.detect import Monitor, source_options
from monitor.diffview import Paragraph, paragraph_diff, title_diff
from monitor.events import Event, Kind
from monitor.extract import Extract, ExtractOptions

_LAST_GOOD_NAMES = (Kind.REMOVED, Kind.MOVED, Kind.UNREACHABLE)


@dataclass
class ChangeView:
    event: Event
    source: dict[str, Any] | None
    before: Capture | None  # the capture compared (a removal's last good one)
    after: Capture | None  # what the page was when the event was raised
    title: str  # the page's headline, else its URL
    title_change: Paragraph | None = None
    paragraphs: list[Paragraph] = field(default_factory=list)  # the whole article's diff

    @property
    def changed(self) -> list[Paragraph]:
        return [p for p in self.paragraphs if p.changed]


def _row(capture: Capture) -> dict[str, Any]:
    return {**capture.row(), "id": capture.id}


class ChangeReader:
    """Builds ChangeViews over one database; extracts are read through the monitor's cache."""

    def __init__(self, db: Database, warc_dir: Path) -> None:
        self.db = db
        self.index = CaptureIndex(db)
        self.monitor = Monitor(db, warc_dir)

    def source(self, event: Event) -> dict[str, Any] | None:
        if event.source_id is None:
            return None
        return next(self.db.query("SELECT * FROM sources WHERE id = ?", [event.source_id]),
                    None)

    def extract(self, capture: Capture | None, options: ExtractOptions) -> Extract | None:
        if capture is None:
            return None
        return self.monitor.extract_of(_row(capture), options)

    def view(self, event: Event) -> ChangeView:
        source = self.source(event)
        options = source_options(source) if source and not event.link else ExtractOptions()
        before = self.index.get(event.before_capture) if event.before_capture else None
        after = self.index.get(event.after_capture) if event.after_capture else None
        found = ChangeView(event, source, before, after, title=event.url)
        old = new = None
        if event.link:  # a dead link: the headline is the citing page's
            title = self._citing_title(event)
        else:
            old, new = self.extract(before, options), self.extract(after, options)
            # A removed page's title now is the notice's: name it by its last good one.
            first, second = (old, new) if event.kind in _LAST_GOOD_NAMES else (new, old)
            title = (first.title if first else "") or (second.title if second else "") or \
                str(event.details.get("title_after") or event.details.get("title_before")
                    or "")
        found.title = title or event.url
        if event.kind != Kind.EDITED:
            return found
        if old is not None and new is not None:
            found.title_change = title_diff(old.title, new.title)
            found.paragraphs = paragraph_diff(old.paragraphs, new.paragraphs)
        else:  # the captures cannot be re-read: what the monitor kept of the change
            found.title_change = title_diff(str(event.details.get("title_before") or ""),
                                            str(event.details.get("title_after") or ""))
            for change in event.details.get("paragraphs", []):
                found.paragraphs += paragraph_diff([change["before"]], [change["after"]])
        return found

    def titles(self, events: list[Event], limit: int) -> dict[int, str]:
        """Each event's headline as the list shows it: read from the cache of extracts,
        and, for up to ``limit`` events never read, from their captures (then cached)."""
        found = titles(self.db, events)
        missing = [e for e in events if e.id is not None and e.id not in found][:limit]
        for event in missing:
            assert event.id is not None
            if event.link:
                title = self._citing_title(event)
            else:
                source = self.source(event)
                options = source_options(source) if source else ExtractOptions()
                captures = [self.index.get(c) for c in (event.before_capture,
                                                         event.after_capture) if c]
                read = [self.extract(c, options) for c in captures]
                title = next((r.title for r in read if r and r.title), "")
            if title:
                found[event.id] = title
        return found

    def _citing_title(self, event: Event) -> str:
        pages = [c for c in self.index.history(event.url)
                 if 200 <= (c.payload_status or c.status) < 300]
        earlier = [c for c in pages if c.timestamp <= event.detected_at] or pages
        found = self.extract(earlier[-1], ExtractOptions()) if earlier else None
        return found.title if found else ""
