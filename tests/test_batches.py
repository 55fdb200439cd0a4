"""How `vigil watch` gathers due sources into crawl processes: hosts, sizes, windows, skips."""

from __future__ import annotations

import io
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.app.home import Home
from crawler.app.store import Store
from crawler.scheduling.batches import (
    Due,
    DueQueue,
    host_of,
    plan,
    ready,
    seconds_until_ready,
    starting_now,
)
from crawler.scheduling.watcher import Watcher, WatchSettings


def due(source_id: int, host: str, since: float = 0.0) -> Due:
    return Due(source_id, host, since)


def ids(batches: list[list[Due]]) -> list[list[int]]:
    return [[d.source_id for d in batch] for batch in batches]


def test_a_hosts_sources_go_into_one_batch_in_the_order_hosts_fell_due() -> None:
    waiting = [due(1, "a", 2), due(2, "b", 1), due(3, "a", 3), due(4, "b", 4)]
    assert ids(plan(waiting, size=10, count=2)) == [[2, 4, 1, 3]]


def test_a_batch_holds_at_most_batch_size_sources() -> None:
    waiting = [due(n, f"h{n}", n) for n in range(7)]
    assert ids(plan(waiting, size=3, count=5)) == [[0, 1, 2], [3, 4, 5], [6]]


def test_no_more_batches_start_than_processes_are_free() -> None:
    waiting = [due(n, f"h{n}", n) for n in range(7)]
    assert ids(plan(waiting, size=2, count=2)) == [[0, 1], [2, 3]]


def test_a_host_larger_than_a_batch_never_lands_in_two_batches_at_once() -> None:
    waiting = [due(n, "big", n) for n in range(5)] + [due(9, "small", 9)]
    # The rest of "big" waits for the first batch to end; "small" need not wait for it.
    assert ids(plan(waiting, size=3, count=3)) == [[0, 1, 2], [9]]


def test_a_source_or_host_being_crawled_is_not_ready() -> None:
    waiting = [due(1, "a"), due(2, "b"), due(3, "c")]
    assert [d.source_id for d in ready(waiting, busy_sources={1}, busy_hosts={"b"})] == [3]


def test_due_sources_are_gathered_for_the_window_unless_a_batch_is_full() -> None:
    waiting = [due(1, "a", 100.0), due(2, "b", 101.0)]
    assert seconds_until_ready(waiting, size=5, window=3.0, now=101.5) == pytest.approx(1.5)
    assert seconds_until_ready(waiting, size=5, window=3.0, now=104.0) == 0.0
    assert seconds_until_ready(waiting, size=2, window=3.0, now=100.0) == 0.0


def test_a_full_batch_starts_at_once_and_the_rest_goes_on_gathering() -> None:
    waiting = [due(n, f"h{n}", 100.0) for n in range(7)]
    early = starting_now(waiting, size=3, count=3, window=3.0, now=101.0)
    assert ids(early) == [[0, 1, 2], [3, 4, 5]]
    late = starting_now(waiting, size=3, count=3, window=3.0, now=103.0)
    assert ids(late) == [[0, 1, 2], [3, 4, 5], [6]]


def test_a_source_falling_due_twice_before_its_batch_is_one_run() -> None:
    queue = DueQueue()
    queue.mark(1, "a")
    first = queue.waiting()[0].since
    queue.mark(1, "a")
    assert len(queue) == 1 and queue.waiting()[0].since == first


def test_a_wake_before_the_wait_is_not_lost() -> None:
    queue = DueQueue()
    queue.wake()  # a batch that ended while the dispatcher was busy
    started = time.monotonic()
    queue.wait(30)
    assert time.monotonic() - started < 5


def test_politeness_is_kept_by_hostname_as_scrapys_downloader_slots_are() -> None:
    assert host_of("http://Example.org:8080/a") == host_of("https://example.org/b") == \
        "example.org"


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Home]:
    home = Home(tmp_path / "home")
    home.create()
    Store.open(home.db_path).close()
    yield home


def _add(home: Home, url: str, quiet: str | None = None) -> int:
    store = Store.open(home.db_path)
    try:
        with store.db.conn:
            source = store.upsert_source(url, name=None, depth=0, ignore_robots=False,
                                         schedule={"quiet_hours": quiet} if quiet else None)
        return source.id
    finally:
        store.close()


def _screened(home: Home) -> tuple[list[int], str]:
    stream = io.StringIO()
    watcher = Watcher(home, WatchSettings(), stream=stream)
    watcher.sync()
    store = Store.open(home.db_path)
    try:
        for source in store.sources():
            watcher.due.mark(source.id, host_of(source.url))
    finally:
        store.close()
    kept = watcher._screen(watcher.due.waiting())
    return [d.source_id for d in kept], stream.getvalue()


def test_a_source_in_quiet_hours_is_left_out_of_the_batch(home: Home) -> None:
    now = datetime.now(UTC)
    around = f"{now - timedelta(hours=1):%H:%M}-{now + timedelta(hours=1):%H:%M}"
    loud = _add(home, "http://127.0.0.2/")
    _add(home, "http://127.0.0.3/", quiet=around)
    kept, said = _screened(home)
    assert kept == [loud]
    assert f"quiet hours ({around}), skipped" in said


def test_a_source_still_crawled_by_a_killed_watchers_crawl_is_left_out(home: Home) -> None:
    orphan_id = _add(home, "http://127.0.0.2/")
    free = _add(home, "http://127.0.0.3/")
    # A crawl process that outlived its watcher: its row says running, its pid is alive.
    orphan = subprocess.Popen(["sleep", "60"])
    try:
        store = Store.open(home.db_path)
        try:
            store.start_crawl([orphan_id], orphan.pid)
        finally:
            store.close()
        kept, said = _screened(home)
    finally:
        orphan.kill()
        orphan.wait()
    assert kept == [free]
    assert "started by an earlier watcher is still running" in said


def test_a_waiting_dispatcher_wakes_when_a_source_falls_due() -> None:
    queue = DueQueue()
    woke = threading.Event()

    def wait() -> None:
        queue.wait(30)
        woke.set()

    waiter = threading.Thread(target=wait)
    waiter.start()
    queue.mark(7, "a")
    assert woke.wait(10)
    waiter.join()
