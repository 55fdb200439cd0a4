"""`vigil watch`: recapture each source on its schedule, many due sources per crawl process.

Scrapy's Twisted reactor cannot be restarted in a process, so each crawl runs as its own
`vigil crawl` process (the pattern Scrapy's docs recommend for repeated crawls). A process
costs about a second of CPU before it fetches anything, so the sources due at about the
same time share one: a job per source (APScheduler 3, jobs in memory) only marks its
source due, and a dispatcher gathers the due sources for a few seconds and starts batches
of them (crawler/scheduling/batches.py), at most ``max_parallel`` processes at once. The
sources table is the truth (with the last capture of each source, it says when each is
due), so the jobs are rebuilt from it at start and whenever a source changes.
"""

from __future__ import annotations

import itertools
import json
import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from archive.recovery import pid_alive
from archive.timeutil import parse_stored, utcnow
from crawler.app.home import Home
from crawler.app.maintenance import recover
from crawler.app.runner import crawl_command
from crawler.app.store import Source, Store
from crawler.scheduling import batches
from crawler.scheduling.batches import DEFAULT_BATCH_SIZE, DEFAULT_BATCH_WINDOW, DueQueue
from crawler.scheduling.rules import DEFAULT_EVERY

log = logging.getLogger("vigil.watch")

SYNC_SECONDS = 2.0  # how often the sources table is checked for changes
NAMED = 3  # sources named in a batch's messages
# A crawl process that dies is run once more after this long (a crash at start-up, say, a
# lock or a full disk that has cleared); if it dies again its sources wait for their next
# slot, so a crawl that always crashes does not run in a loop.
DEFAULT_RETRY_AFTER = 60.0


@dataclass
class WatchSettings:
    max_parallel: int = 2  # crawl processes at once
    grace: float = 30.0  # seconds crawls in flight get to finish after a stop signal
    overrides: Mapping[str, str] = field(default_factory=dict)
    batch_size: int = DEFAULT_BATCH_SIZE  # sources per crawl process, at most
    batch_window: float = DEFAULT_BATCH_WINDOW  # seconds due sources are gathered
    retry_after: float = DEFAULT_RETRY_AFTER  # seconds before a crashed batch runs once more


@dataclass
class _Batch:
    number: int
    sources: list[Source]
    child: subprocess.Popen[bytes] | None = None


class Watcher:
    def __init__(self, home: Home, settings: WatchSettings, stream: TextIO = sys.stderr):
        self.home = home
        self.settings = settings
        self.stream = stream
        self.stopping = threading.Event()
        self.forced = threading.Event()
        self.due = DueQueue()
        self._sources: dict[int, Source] = {}
        self._batches: dict[int, _Batch] = {}  # in flight, by number
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        self._signature: tuple[Any, ...] = ()
        self._retried: set[int] = set()  # sources whose last batch crashed and was retried
        self._dispatcher = threading.Thread(target=self._dispatch, name="dispatcher",
                                            daemon=True)
        self.crawls_started = 0
        self.crawls_crashed = 0
        self.scheduler = BackgroundScheduler(
            jobstores={"default": MemoryJobStore(), "memory": MemoryJobStore()},
            # A job only marks its source due: two threads keep up with any number.
            executors={"default": ThreadPoolExecutor(max_workers=2)},
            # Runs missed while stopped become one run.
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )

    # -- messages ----------------------------------------------------------------
    def say(self, text: str) -> None:
        stamp = utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
        self.stream.write(f"{stamp} vigil watch: {text}\n")
        self.stream.flush()

    # -- jobs from the sources table -----------------------------------------------
    def sync(self) -> None:
        """Rebuild the jobs when the sources table changed (it is the single truth)."""
        store = Store.open(self.home.db_path)
        try:
            signature = tuple(store.db.execute(
                "SELECT id, updated_at FROM sources ORDER BY id").fetchall())
            if signature == self._signature:
                return
            self._signature = signature
            sources = store.sources()
            with self._lock:
                self._sources = {s.id: s for s in sources}
            wanted = {f"source-{s.id}" for s in sources}
            for job in self.scheduler.get_jobs(jobstore="default"):
                if job.id not in wanted:
                    job.remove()
            lasts = store.last_captures(sources)
            for source in sources:
                self._schedule(source, lasts.get(source.id))
        finally:
            store.close()

    def _schedule(self, source: Source, last: str | None) -> None:
        schedule = source.schedule
        now = utcnow()
        due = schedule.next_after(parse_stored(last) if last else None, now)
        trigger: IntervalTrigger | CronTrigger
        if schedule.cron:
            trigger = CronTrigger.from_crontab(schedule.cron, timezone=UTC)
            trigger.jitter = schedule.jitter or None
        else:
            trigger = IntervalTrigger(seconds=schedule.every or DEFAULT_EVERY, timezone=UTC,
                                      jitter=schedule.jitter or None)
        self.scheduler.add_job(
            self.due.mark, trigger=trigger, args=[source.id, batches.host_of(source.url)],
            id=f"source-{source.id}", name=source.url, replace_existing=True,
            next_run_time=max(due, now),
        )

    # -- batches -----------------------------------------------------------------------
    def _dispatch(self) -> None:
        """Start batches as sources fall due and processes free up, until stopped."""
        while not self.stopping.is_set():
            try:
                pause = self._dispatch_once()
            except Exception:  # the loop boundary: the dispatcher must survive
                log.exception("dispatching due sources failed")
                pause = SYNC_SECONDS
            if pause != 0.0:
                self.due.wait(pause)

    def _dispatch_once(self) -> float | None:
        """Start what may start; how long to wait before looking again (None: until a
        source falls due or a batch ends; 0: look again now)."""
        with self._lock:
            free = self.settings.max_parallel - len(self._batches)
            busy = [s for b in self._batches.values() for s in b.sources]
        waiting = self.due.waiting()
        if free <= 0 or not waiting:
            return None
        candidates = batches.ready(waiting, {s.id for s in busy},
                                   {batches.host_of(s.url) for s in busy})
        pause = batches.seconds_until_ready(candidates, size=self.settings.batch_size,
                                            window=self.settings.batch_window,
                                            now=time.monotonic())
        if not candidates or pause > 0:
            return pause or None
        candidates = self._screen(candidates)
        size, window = self.settings.batch_size, self.settings.batch_window
        planned = batches.starting_now(candidates, size=size, count=free, window=window,
                                       now=time.monotonic())
        if not planned:  # the screen left less than a full batch: it goes on gathering
            return batches.seconds_until_ready(candidates, size=size, window=window,
                                               now=time.monotonic()) or None
        with self._lock:
            known = dict(self._sources)
        for group in planned:
            self.due.drop(d.source_id for d in group)
            chosen = [known[d.source_id] for d in group if d.source_id in known]
            if not chosen or self.stopping.is_set():
                continue
            batch = _Batch(next(self._numbers), chosen)
            with self._lock:
                self._batches[batch.number] = batch
            threading.Thread(target=self._run_batch, args=(batch,), daemon=True,
                             name=f"batch-{batch.number}").start()
        return 0.0

    def _screen(self, candidates: list[batches.Due]) -> list[batches.Due]:
        """Leave out, for this run, the sources in quiet hours, gone from the table, or
        still in a crawl that outlived an earlier watcher (killed with -9): two crawls of
        one source never overlap."""
        elsewhere = self._crawling_elsewhere()
        now = utcnow()
        kept: list[batches.Due] = []
        with self._lock:
            known = dict(self._sources)
        for due in candidates:
            source = known.get(due.source_id)
            quiet = source.schedule.quiet if source else None
            if source is None:
                pass
            elif due.source_id in elsewhere:
                self.say(f"{source.url}: a crawl started by an earlier watcher is still "
                         "running; this run is skipped")
            elif quiet and quiet.contains(now):
                self.say(f"{source.url}: quiet hours ({quiet}), skipped")
            else:
                kept.append(due)
                continue
            self.due.drop([due.source_id])
        return kept

    def _crawling_elsewhere(self) -> set[int]:
        """Sources of running crawls whose process is alive and not one of ours."""
        store = Store.open(self.home.db_path)
        try:
            running = list(store.db.execute(
                "SELECT pid, sources FROM crawls WHERE status = 'running'").fetchall())
        finally:
            store.close()
        with self._lock:
            mine = {b.child.pid for b in self._batches.values() if b.child}
        return {source_id for pid, ids in running if pid not in mine and pid_alive(pid)
                for source_id in json.loads(ids or "[]")}

    def _run_batch(self, batch: _Batch) -> None:
        """A batch's thread: its crawl process; its failure is logged, the watch goes on."""
        try:
            self.crawl(batch)
        except Exception:  # the loop boundary: one batch's failure stops nothing else
            log.exception("the crawl of batch %s failed", batch.number)
        finally:
            with self._lock:
                self._batches.pop(batch.number, None)
            self.due.wake()

    def crawl(self, batch: _Batch) -> None:
        sources = batch.sources
        stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
        log_path = self.home.log_dir / f"crawl-{stamp}-batch-{batch.number}.log"
        command = crawl_command(self.home, [s.url for s in sources], self.settings.overrides)
        if self.stopping.is_set():
            return
        self.say(f"crawling {_named(sources)}")
        self.crawls_started += 1
        with open(log_path, "ab") as log_file:
            # Own session: a Ctrl-C at the terminal reaches the watcher, which decides
            # when the crawls in flight stop.
            child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     start_new_session=True)
            with self._lock:
                batch.child = child
            tee = threading.Thread(target=_tee, args=(child.stderr, log_file, self.stream),
                                   daemon=True)
            tee.start()
            out = child.stdout.read() if child.stdout else b""
            code = child.wait()
            tee.join(timeout=5)
        self._report(sources, code, out, log_path)

    def _report(self, sources: list[Source], code: int, out: bytes, log_path: Path) -> None:
        try:
            summary = json.loads(out)
        except json.JSONDecodeError:
            self.crawls_crashed += 1
            self.say(f"the crawl process of {_named(sources)} died (exit {code}); "
                     f"{self._retry(sources)}. Log: {log_path}")
            return
        with self._lock:
            self._retried.difference_update(s.id for s in sources)
        store = Store.open(self.home.db_path)
        try:
            with store.db.conn:
                store.db.table("crawls").update(summary["crawl_id"], {"log": str(log_path)})
        finally:
            store.close()
        self.say(f"crawl {summary['crawl_id']} {summary['status']} ({_named(sources)}): "
                 f"{summary['pages']} pages, {summary['failures']} failures, "
                 f"{len(summary['events'])} new events")

    def _retry(self, sources: list[Source]) -> str:
        """Mark the sources of a crashed batch due once more, later; what happens, said."""
        with self._lock:
            again = [s for s in sources if s.id not in self._retried]
            self._retried.update(s.id for s in again)
        if not again or self.stopping.is_set():
            return "they run again at their next slot"
        when = utcnow() + timedelta(seconds=self.settings.retry_after)
        for source in again:
            self.scheduler.add_job(self.due.mark, trigger="date", run_date=when,
                                   args=[source.id, batches.host_of(source.url)],
                                   id=f"retry-{source.id}", jobstore="memory",
                                   replace_existing=True)
        rest = len(sources) - len(again)
        return (f"{len(again)} run again in {self.settings.retry_after:g} s" +
                (f", {rest} that crashed before at their next slot" if rest else ""))

    # -- lifecycle -------------------------------------------------------------------
    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping.is_set():
            self.forced.set()
        self.stopping.set()
        self.due.wake()

    def run(self) -> int:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._on_signal)
        store = Store.open(self.home.db_path)
        try:
            recover(self.home, store)
        finally:
            store.close()
        self.scheduler.start(paused=True)
        self.sync()
        self.scheduler.add_job(self.sync, "interval", seconds=SYNC_SECONDS, id="sync",
                               jobstore="memory", replace_existing=True,
                               executor="default")
        self.scheduler.resume()
        jobs = len(self.scheduler.get_jobs(jobstore="default"))
        s = self.settings
        self.say(f"watching {jobs} source(s): up to {s.batch_size} due sources per crawl "
                 f"(gathered for {s.batch_window:g} s), at most {s.max_parallel} crawls at "
                 "once; Ctrl-C to stop")
        self._dispatcher.start()
        while not self.stopping.wait(0.5):
            pass
        return self.stop()

    def stop(self) -> int:
        self.say("stopping: no new crawls; waiting for the crawls in flight "
                 f"(up to {self.settings.grace:.0f} s, Ctrl-C again to stop them now)")
        # The scheduler and the dispatcher first, so that nothing new starts.
        self.scheduler.shutdown(wait=False)
        self.due.wake()
        self._dispatcher.join(timeout=10)
        deadline = time.monotonic() + self.settings.grace
        while self._in_flight() and time.monotonic() < deadline and not self.forced.is_set():
            time.sleep(0.2)
        self._stop_children()
        self.say("stopped")
        return 0

    def _in_flight(self) -> bool:
        with self._lock:
            return bool(self._batches)

    def _running(self) -> list[subprocess.Popen[bytes]]:
        with self._lock:
            return [b.child for b in self._batches.values()
                    if b.child is not None and b.child.poll() is None]

    def _stop_children(self) -> None:
        # SIGTERM twice: Scrapy's own shutdown, then its forced one. Records already
        # written stay valid; an unfinished file stays .open and is repaired at the next
        # start, so no file is ever corrupt.
        for attempt in range(2):
            children = self._running()
            if not children:
                return
            for child in children:
                child.send_signal(signal.SIGTERM)
            limit = time.monotonic() + (2 if attempt == 0 else 10)
            while self._running() and time.monotonic() < limit:
                time.sleep(0.1)
        for child in self._running():
            child.kill()


def _named(sources: list[Source]) -> str:
    names = ", ".join(s.url for s in sources[:NAMED])
    more = len(sources) - NAMED
    return f"{len(sources)} source(s): {names}" + (f" and {more} more" if more > 0 else "")


def _tee(source: Any, log_file: Any, stream: TextIO) -> None:
    for line in iter(source.readline, b""):
        log_file.write(line)
        log_file.flush()
        stream.write(line.decode("utf-8", "replace"))
        stream.flush()


def next_capture(source: Source, last: str | None, now: datetime | None = None) -> datetime:
    moment = now or utcnow()
    return max(source.schedule.next_after(parse_stored(last) if last else None, moment),
               moment)
