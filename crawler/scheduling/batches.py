"""Due sources gathered into batches: one crawl process for many sources, one host per batch."""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_BATCH_SIZE = 50  # sources per crawl process
DEFAULT_BATCH_WINDOW = 3.0  # seconds due sources are gathered before a batch starts


def host_of(url: str) -> str:
    """The key Scrapy keeps its politeness delays by (a downloader slot is per hostname)."""
    return (urlsplit(url).hostname or url).lower()


@dataclass(frozen=True)
class Due:
    """A source waiting for a batch, since a moment of the monotonic clock."""

    source_id: int
    host: str
    since: float


class DueQueue:
    """The sources due now, each once: a run that falls due again before a batch takes the
    source is the same run (a coalesced one, as APScheduler's ``coalesce`` would make it).
    Waiting on it wakes when a source falls due or when :meth:`wake` is called, also when
    that happened since the last wait (a batch that ends while the dispatcher is busy is
    not missed)."""

    def __init__(self) -> None:
        self._due: dict[int, Due] = {}
        self._changed = threading.Condition()
        self._woken = False

    def mark(self, source_id: int, host: str) -> None:
        with self._changed:
            if source_id not in self._due:
                self._due[source_id] = Due(source_id, host, time.monotonic())
            self._woken = True
            self._changed.notify_all()

    def drop(self, source_ids: Iterable[int]) -> None:
        with self._changed:
            for source_id in source_ids:
                self._due.pop(source_id, None)

    def waiting(self) -> list[Due]:
        with self._changed:
            return sorted(self._due.values(), key=lambda d: (d.since, d.source_id))

    def wake(self) -> None:
        with self._changed:
            self._woken = True
            self._changed.notify_all()

    def wait(self, timeout: float | None) -> None:
        with self._changed:
            if not self._woken:
                self._changed.wait(timeout)
            self._woken = False

    def __len__(self) -> int:
        with self._changed:
            return len(self._due)


def ready(waiting: Iterable[Due], busy_sources: Collection[int],
          busy_hosts: Collection[str]) -> list[Due]:
    """What may start now: neither the source nor its host is being crawled. One host is
    in one crawl at a time, so the per-host delays of politeness hold across processes."""
    return [d for d in waiting if d.source_id not in busy_sources and d.host not in busy_hosts]


def seconds_until_ready(candidates: list[Due], *, size: int, window: float,
                        now: float) -> float:
    """How long to gather more before starting: nothing if a batch is full or the oldest
    due source has waited the whole window."""
    if not candidates or len(candidates) >= size:
        return 0.0
    oldest = min(d.since for d in candidates)
    return max(0.0, oldest + window - now)


def plan(candidates: list[Due], *, size: int, count: int) -> list[list[Due]]:
    """Up to ``count`` batches of up to ``size`` sources. A host's sources go together
    (its robots.txt is fetched once, its delays are kept by one downloader) and never into
    two batches at once; hosts are taken in the order their first source fell due, so no
    host waits behind later ones."""
    first: dict[str, float] = {}
    for due in candidates:
        first[due.host] = min(first.get(due.host, due.since), due.since)
    order = sorted(candidates, key=lambda d: (first[d.host], d.host, d.since, d.source_id))
    batches: list[list[Due]] = []
    taken: set[str] = set()
    current: list[Due] = []
    for due in order:
        if len(batches) == count:
            break
        if due.host in taken and (not current or current[-1].host != due.host):
            continue  # the host is in an earlier batch: its rest waits for that one
        current.append(due)
        taken.add(due.host)
        if len(current) == size:
            batches.append(current)
            current = []
    if current and len(batches) < count:
        batches.append(current)
    return batches


def starting_now(candidates: list[Due], *, size: int, count: int, window: float,
                 now: float) -> list[list[Due]]:
    """The batches to start now: all that :func:`plan` makes once the oldest due source
    has waited the window, only the full ones before (the rest goes on gathering)."""
    planned = plan(candidates, size=size, count=count)
    gathered = bool(candidates) and min(d.since for d in candidates) + window <= now
    return planned if gathered else [group for group in planned if len(group) == size]
