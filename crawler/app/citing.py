"""Which capture a citation names, and what the page says about itself in it.

Without a time, a citation names the latest capture that holds the article: not a
removal notice, an error page or a redirect. The monitor's ``removed`` events say when a
page was taken down (and which capture came last before); without them, a capture holds
the article when its text shares enough words with the earliest capture that had one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from archive.cite import Citation, parse_published, site_name
from archive.index import Capture, CaptureIndex, CaptureNotFound, is_html
from archive.metadata import PageMetadata, read_metadata
from archive.reader import RecordNotFound, read_record
from archive.timeutil import digits14, parse_stored
from crawler.app.store import Store
from monitor.detect import within_read_limit
from monitor.events import EventLog
from monitor.extract import Extract, extract

# Share of the earliest article's distinct words a later capture must keep to be the
# same article (an edit keeps most; "this article is no longer available" keeps none).
SAME_ARTICLE = 0.3
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Chosen:
    capture: Capture
    holder: Capture  # the capture whose payload it serves (a revisit's original)
    payload: bytes
    removed: str | None = None  # when the page was found removed after this capture
    how: str | None = None  # what it held then


def _words(found: Extract | None) -> set[str]:
    return set(_WORD.findall(f"{found.title} {found.text}".lower())) if found else set()


class Citing:
    def __init__(self, store: Store, warc_dir: Path) -> None:
        self.store, self.warc_dir = store, warc_dir
        self.index: CaptureIndex = store.captures

    def _payload(self, capture: Capture) -> tuple[Capture, bytes]:
        holder = self.index.original(capture)
        if holder.revisit:
            raise CaptureNotFound(f"the capture of {capture.timestamp} revisits a record "
                                  "that is not in this archive")
        if not within_read_limit(holder.size):
            return holder, b""  # cited by its URL and times: never read whole
        try:
            return holder, read_record(self.warc_dir, holder.warc, holder.offset).payload()
        except RecordNotFound as exc:
            raise CaptureNotFound(str(exc)) from exc

    def choose(self, url: str, at: datetime | None) -> Chosen:
        if at is not None:
            capture = self.index.closest(url, at)
            holder, payload = self._payload(capture)
            return Chosen(capture, holder, payload)
        history = self.index.history(url)
        if not history:
            self.index.closest(url)  # raises with the archive's explanation
        return self._latest_article(history)

    def _latest_article(self, history: list[Capture]) -> Chosen:
        good = [c for c in history if 200 <= (c.payload_status or c.status) < 300]
        if not good:
            raise CaptureNotFound(f"no 2xx capture of {history[0].url} to cite")
        removal = self._removal(history[0].url)
        if removal is not None:
            before_id, when = removal
            before = next((c for c in good if c.id == before_id), None)
            if before is not None:
                holder, payload = self._payload(before)
                return Chosen(before, holder, payload, removed=when, how="removed")
        reference: set[str] | None = None
        for capture in good:  # the earliest article is what later ones are matched to
            holder, payload = self._payload(capture)
            found = extract(payload, capture.url) if _is_html(holder) else None
            if found is not None and found.words:
                reference = _words(found)
                break
        for capture in reversed(good):
            holder, payload = self._payload(capture)
            if reference is None or not _is_html(holder):
                break
            words = _words(extract(payload, capture.url))
            if len(words & reference) >= SAME_ARTICLE * len(reference):
                break
        # Every capture after the one chosen is an error, a redirect or another text.
        later = next((c for c in history if c.timestamp > capture.timestamp), None)
        if later is None:
            return Chosen(capture, holder, payload)
        return Chosen(capture, holder, payload, removed=later.timestamp,
                      how=f"HTTP {later.status}" + (", another text" if 200 <= (
                          later.payload_status or later.status) < 300 else ""))

    def _removal(self, url: str) -> tuple[int, str] | None:
        """(last capture before, when found removed) if the page stands removed now."""
        events = [e for e in EventLog(self.store.db).query(url=url)
                  if e.url == url and e.kind in ("removed", "restored")]
        if not events or events[-1].kind != "removed":
            return None
        last = events[-1]
        if last.before_capture is None:
            return None
        return last.before_capture, last.after or last.detected_at


def _is_html(capture: Capture) -> bool:
    # A page past the monitor's read limit is not parsed here either (bounded memory).
    return is_html(capture.content_type) and within_read_limit(capture.size)


def citation(chosen: Chosen, server: str) -> tuple[Citation, PageMetadata]:
    """The citation of a chosen capture, from the page's own metadata where it has it."""
    capture = chosen.capture
    meta = read_metadata(chosen.payload, chosen.holder.content_type) \
        if _is_html(chosen.holder) else PageMetadata()
    found = extract(chosen.payload, capture.url) if _is_html(chosen.holder) else None
    original = capture.target_uri or capture.url
    title = meta.title or (found.title if found and found.title else original)
    authors = meta.authors or ((found.byline,) if found and found.byline else ())
    published = parse_published(meta.published or (found.published if found else None))
    archived = f"{server.rstrip('/')}/web/{digits14(capture.moment)}/{original}"
    return Citation(url=original, title=title, site=meta.site or site_name(original),
                    captured=capture.moment, archived_url=archived,
                    sha256=capture.digest.removeprefix("sha256:"), authors=authors,
                    published=published), meta


def removed_note(chosen: Chosen) -> str | None:
    if chosen.removed is None:
        return None
    when = f"{parse_stored(chosen.removed):%Y-%m-%dT%H:%M:%SZ}"
    if chosen.how == "removed":
        return f"note: the page was removed since: the monitor found it removed {when}"
    return (f"note: the page was removed since or changed: the captures from {when} on do "
            f"not hold this article ({chosen.how}); see `vigil history`")
