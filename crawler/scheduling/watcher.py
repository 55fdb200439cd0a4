"""`vigil watch`: recapture each source on its schedule, one crawl subprocess per run.

Scrapy's Twisted reactor cannot be restarted in a process, so each crawl runs as its own
`vigil crawl` process (the pattern Scrapy's docs recommend for repeated crawls). The
scheduler is APScheduler 3 with jobs in memory: the sources table is the truth (with the
last capture of each source, it says when each is due), so the jobs are rebuilt from it at
start and whenever a source changes, and a persistent job store would only repeat it.
"""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
from crawler.scheduling.rules import DEFAULT_EVERY

log = logging.getLogger("vigil.watch")

SYNC_SECONDS = 2.0  # how often the sources table is checked for changes


@dataclass
class WatchSettings:
    max_parallel: int = 2
    grace: float = 30.0  # seconds crawls in flight get to finish after a stop signal
    overrides: Mapping[str, str] = field(default_factory=dict)


class Watcher:
    def __init__(self, home: Home, settings: WatchSettings, stream: TextIO = sys.stderr):
        self.home = home
        self.settings = settings
        self.stream = stream
        self.stopping = threading.Event()
        self.forced = threading.Event()
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()
        self._signature: tuple[Any, ...] = ()
        self.crawls_started = 0
        self.crawls_crashed = 0
        self.scheduler = BackgroundScheduler(
            jobstores={"default": MemoryJobStore(), "memory": MemoryJobStore()},
            executors={"default": ThreadPoolExecutor(max_workers=settings.max_parallel)},
            # One run per source at a time; runs missed while stopped become one run.
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
            sources = store.sources()
            signature = tuple((s.id, s.updated_at) for s in sources)
            if signature == self._signature:
                return
            self._signature = signature
            wanted = {f"source-{s.id}" for s in sources}
            for job in self.scheduler.get_jobs(jobstore="default"):
                if job.id not in wanted:
                    job.remove()
            for source in sources:
                self._schedule(source, store.last_capture(source))
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
            self._run_source, trigger=trigger, args=[source.id],
            id=f"source-{source.id}", name=source.url, replace_existing=True,
            next_run_time=max(due, now),
        )

    # -- one crawl ---------------------------------------------------------------------
    def _run_source(self, source_id: int) -> None:
        """A job's run: one source's crawl; its failure is logged, the watch goes on."""
        try:
            self.crawl(source_id)
        except Exception:  # the loop boundary: the scheduler's thread must survive
            log.exception("the crawl of source %s failed", source_id)

    def crawl(self, source_id: int) -> None:
        if self.stopping.is_set():
            return
        store = Store.open(self.home.db_path)
        try:
            source = next((s for s in store.sources() if s.id == source_id), None)
        finally:
            store.close()
        if source is None:
            return
        if self._crawling_elsewhere(source.id):
            # A crawl of this source outlived an earlier watcher (killed with -9): two
            # crawls of one source never overlap.
            self.say(f"{source.url}: a crawl started by an earlier watcher is still "
                     "running; this run is skipped")
            return
        quiet = source.schedule.quiet
        if quiet and quiet.contains(utcnow()):
            self.say(f"{source.url}: quiet hours ({quiet}), skipped")
            return
        stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
        log_path = self.home.log_dir / f"crawl-{stamp}-source-{source.id}.log"
        command = crawl_command(self.home, [source.url], self.settings.overrides)
        self.say(f"crawling {source.url}")
        self.crawls_started += 1
        with open(log_path, "ab") as log_file:
            # Own session: a Ctrl-C at the terminal reaches the watcher, which decides
            # when the crawls in flight stop.
            child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     start_new_session=True)
            with self._lock:
                self._children[child.pid] = child
            tee = threading.Thread(target=_tee, args=(child.stderr, log_file, self.stream),
                                   daemon=True)
            tee.start()
            out = child.stdout.read() if child.stdout else b""
            code = child.wait()
            tee.join(timeout=5)
            with self._lock:
                self._children.pop(child.pid, None)
        self._report(source, code, out, log_path)

    def _crawling_elsewhere(self, source_id: int) -> bool:
        store = Store.open(self.home.db_path)
        try:
            running = list(store.db.table("crawls").rows_where("status = 'running'"))
        finally:
            store.close()
        with self._lock:
            mine = set(self._children)
        return any(source_id in json.loads(row["sources"] or "[]") and row["pid"] not in mine
                   and pid_alive(row["pid"]) for row in running)

    def _report(self, source: Source, code: int, out: bytes, log_path: Path) -> None:
        try:
            summary = json.loads(out)
        except json.JSONDecodeError:
            self.crawls_crashed += 1
            self.say(f"{source.url}: the crawl process died (exit {code}); it runs again at "
                     f"its next slot. Log: {log_path}")
            return
        store = Store.open(self.home.db_path)
        try:
            with store.db.conn:
                store.db.table("crawls").update(summary["crawl_id"], {"log": str(log_path)})
        finally:
            store.close()
        self.say(f"{source.url}: crawl {summary['crawl_id']} {summary['status']}: "
                 f"{summary['pages']} pages, {summary['failures']} failures, "
                 f"{len(summary['events'])} new events")

    # -- lifecycle -------------------------------------------------------------------
    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping.is_set():
            self.forced.set()
        self.stopping.set()

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
        self.say(f"watching {jobs} source(s), at most {self.settings.max_parallel} crawls "
                 "at once; Ctrl-C to stop")
        while not self.stopping.wait(0.5):
            pass
        return self.stop()

    def stop(self) -> int:
        self.say("stopping: no new crawls; waiting for the crawls in flight "
                 f"(up to {self.settings.grace:.0f} s, Ctrl-C again to stop them now)")
        # Shut the scheduler down first: its threads finish the crawls they run, and it
        # cannot try to submit another job to an executor that is gone.
        self.scheduler.shutdown(wait=False)
        deadline = time.monotonic() + self.settings.grace
        while self._running() and time.monotonic() < deadline and not self.forced.is_set():
            time.sleep(0.2)
        self._stop_children()
        self.say("stopped")
        return 0

    def _running(self) -> list[subprocess.Popen[bytes]]:
        with self._lock:
            return [c for c in self._children.values() if c.poll() is None]

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
