"""Run one crawl of some sources in one Scrapy process and summarise it."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import logging
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from types import FrameType
from typing import Any

from scrapy import signals as scrapy_signals
from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from archive.timeutil import iso_seconds, parse_stored
from crawler import __version__
from crawler.app.after_crawl import after_crawl, notifier_for
from crawler.app.home import ConfigError, Home
from crawler.app.maintenance import recover
from crawler.app.provenance import record_capture
from crawler.app.store import Source, Store
from crawler.crawl.destinations import InvalidNetwork, parse_networks
from monitor.detect import read_as_visible_text
from spiders.source import SourceSpider

# Config keys of the home's [archive] table and the settings they set.
_ARCHIVE_KEYS = {
    "operator": "ARCHIVE_OPERATOR",
    "description": "ARCHIVE_DESCRIPTION",
    "max_file_size": "ARCHIVE_MAX_FILE_SIZE",
    "max_payload": "ARCHIVE_MAX_PAYLOAD",
}


class CrawlProcessError(RuntimeError):
    """A crawl subprocess that did not produce a summary."""


class SettingError(ValueError):
    """A ``-s NAME=VALUE`` override that is not of that form."""


_BOOLEAN_WORDS = {"true", "false", "1", "0"}


_RANGES = {"ARCHIVE_GZIP_LEVEL": (1, 9)}


def parse_overrides(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``NAME=VALUE`` pairs, each value checked against the type of the setting's default
    (a typo fails here, before a crawl starts, not as a traceback inside Scrapy)."""
    defaults = Settings()
    defaults.setmodule("crawler.crawl.settings", priority="project")
    overrides: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise SettingError(f"invalid setting {pair!r}: use -s NAME=VALUE")
        default = defaults.get(name)
        try:
            if isinstance(default, bool):
                if value.strip().lower() not in _BOOLEAN_WORDS:
                    raise ValueError(value)
            elif isinstance(default, int):
                int(value)
            elif isinstance(default, float):
                float(value)
        except ValueError:
            kind = type(default).__name__
            raise SettingError(f"invalid setting {pair!r}: {name} takes a {kind}") from None
        if name == "CRAWL_ALLOW_NETWORKS":
            try:
                parse_networks(value.split(","))
            except InvalidNetwork as exc:
                raise SettingError(f"invalid setting {pair!r}: {exc}") from None
        low, high = _RANGES.get(name, (None, None))
        if low is not None and high is not None and not low <= int(value) <= high:
            raise SettingError(f"invalid setting {pair!r}: {name} is from {low} to {high}")
        overrides[name] = value
    return overrides


def build_settings(home: Home, overrides: Mapping[str, str], *, crawl_id: int | None = None,
                   progress: bool = False) -> Settings:
    """Defaults from crawler.settings < the home's config < ``-s`` overrides."""
    settings = Settings()
    settings.setmodule("crawler.crawl.settings", priority="project")
    config = home.config()
    for key, setting in _ARCHIVE_KEYS.items():
        if key in config.get("archive", {}):
            settings.set(setting, config["archive"][key], priority="project")
    crawl = config.get("crawl", {})
    settings.update(crawl.get("scrapy", {}), priority="project")
    if "allow_networks" in crawl:
        networks = crawl["allow_networks"]
        try:
            parse_networks([networks] if isinstance(networks, str) else networks)
        except (InvalidNetwork, TypeError) as exc:
            raise ConfigError(f"{home.config_path}: [crawl] {exc}") from exc
        settings.set("CRAWL_ALLOW_NETWORKS", networks, priority="project")
    if "contact_url" in crawl:
        settings.set("VIGIL_CONTACT_URL", crawl["contact_url"], priority="project")
        if "USER_AGENT" not in crawl.get("scrapy", {}):
            settings.set("USER_AGENT", f"vigil/{__version__} (+{crawl['contact_url']})",
                         priority="project")
    settings.set("VIGIL_HOME", str(home.root), priority="cmdline")
    settings.set("VIGIL_CRAWL_ID", crawl_id or 0, priority="cmdline")
    settings.set("PROGRESS_ENABLED", progress, priority="cmdline")
    settings.update(dict(overrides), priority="cmdline")
    return settings


@dataclass(frozen=True)
class CrawlSummary:
    crawl_id: int
    status: str
    finish_reason: str
    started_at: str
    ended_at: str
    sources: list[str]
    pages: int
    bytes: int
    failures: int
    http_errors: int
    truncated: int
    warcs: list[str]
    warc_bytes: int
    found_by: dict[str, int] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    # Captures the monitor compared by their visible text: no article could be read.
    read_as_visible_text: int = 0
    alerts_sent: int = 0
    alerts_failed: int = 0
    error: str | None = None  # why the crawl failed, when the archive stopped writing
    cpu_seconds: float = 0.0  # of this process: capture, index and comparison
    peak_rss_kb: int = 0

    def public(self) -> dict[str, Any]:
        return asdict(self)


@contextmanager
def _collector_tuned_for_crawling() -> Iterator[None]:
    """A crawl allocates millions of short-lived objects and makes few reference cycles:
    at Python's default (a collection every 700 net allocations) the cyclic collector took
    ~6% of the crawl's main thread, mostly rescanning what lives as long as the process
    (modules, settings, the spider). Those are frozen out of its scans for the crawl, and
    it runs less often; garbage without cycles is freed at once either way."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


class _StopSignals:
    """Whether SIGINT or SIGTERM reached the crawl. Scrapy's second signal stops the
    reactor without closing the spider (no finish reason): the crawl was still stopped on
    purpose, so it is ``interrupted``, not ``failed``."""

    def __init__(self) -> None:
        self.received = False

    def watch(self) -> None:
        """Called once the engine runs, when Scrapy's own handlers are in place."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous = signal.getsignal(signum)

            def handler(number: int, frame: FrameType | None, previous: Any = previous) -> None:
                self.received = True
                if callable(previous):
                    previous(number, frame)

            signal.signal(signum, handler)


def peak_rss_kb() -> int:
    """This process's own high-water mark of resident memory. ``ru_maxrss`` keeps the
    parent's through exec (a crawl started by a 300 MB process reports 300 MB), so the
    kernel's VmHWM is read where there is one."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _release_free_memory() -> None:
    """Hand the heap the crawl freed back to the system (glibc keeps it otherwise), so the
    monitor's rows start from what is in use, not from the crawl's high-water mark."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def run_crawl(home: Home, store: Store, sources: list[Source], overrides: Mapping[str, str],
              *, progress: bool = False) -> CrawlSummary:
    """Capture ``sources`` now, then compare and alert; failures of single fetches are
    data, not errors."""
    # Scrapy's deprecated-class shims, imported with its HTTP handler, call inspect.stack():
    # a cost per frame below them, ~0.2 s per crawl when Scrapy's component loader imports
    # them some 60 frames down. Imported here first, near the bottom of the stack.
    import scrapy.core.downloader.contextfactory  # noqa: F401
    notifier = notifier_for(home, store)
    recover(home, store)  # a crash of an earlier crawl is closed before this one writes
    crawl_id = store.start_crawl([s.id for s in sources], os.getpid())
    settings = build_settings(home, overrides, crawl_id=crawl_id, progress=progress)
    process = CrawlerProcess(settings)
    # Scrapy filters by LOG_LEVEL in its handler, after every debug record is built:
    # at one "Crawled (200)" line per response, that is real time on a large crawl.
    logging.getLogger().setLevel(settings.get("LOG_LEVEL"))
    crawler = process.create_crawler(SourceSpider)
    stop_signals = _StopSignals()
    crawler.signals.connect(stop_signals.watch, signal=scrapy_signals.engine_started)
    process.crawl(crawler, sources=[{"id": s.id, "url": s.url, "depth": s.depth,
                                     "ignore_robots": s.ignore_robots,
                                     "known": store.known_pages(s)} for s in sources])
    with _collector_tuned_for_crawling():
        process.start()
    stats: dict[str, Any] = crawler.stats.get_stats() if crawler.stats else {}
    # The crawl's own structures (its seen URLs, Scrapy's filter and queues) are let go
    # before the monitor reads every page of the crawl: its rows then reuse that memory.
    del crawler, process
    gc.collect()
    _release_free_memory()
    reason = str(stats.get("finish_reason", "unknown"))
    failed = stats.get("archive/write_errors", 0) > 0 or reason not in ("finished",)
    # Stopped by a signal (vigil watch stopping, Ctrl-C): not a failure of the crawl.
    status = "interrupted" if reason == "shutdown" or stop_signals.received \
        else "failed" if failed else "finished"
    names = list(stats.get("archive/warc_names", []))
    http_errors = sum(v for k, v in stats.items()
                      if k.startswith("downloader/response_status_count/")
                      and k.rsplit("/", 1)[1][:1] in ("4", "5"))
    pages = int(stats.get("archive/responses", 0))
    fetched = int(stats.get("archive/payload_bytes", 0))
    failures = int(stats.get("crawl/failures", 0))
    warcs = [f"warcs/{n}" for n in names]
    store.finish_crawl(crawl_id, status=status,
                       finish_reason=reason, stats=stats,
                       summary={"pages": pages, "bytes": fetched, "failures": failures,
                                "warcs": warcs})
    record_capture(home, store, crawl_id, {"pages": pages, "failures": failures,
                                           "warcs": warcs})
    monitored = after_crawl(home, store, crawl_id, notifier)
    row = store.db.table("crawls").get(crawl_id)
    prefix = "archive/found_by/"
    return CrawlSummary(
        crawl_id=crawl_id,
        status=status,
        finish_reason=reason,
        started_at=iso_seconds(parse_stored(row["started_at"])),
        ended_at=iso_seconds(parse_stored(row["ended_at"])),
        sources=[s.url for s in sources],
        http_errors=int(http_errors),
        truncated=sum(int(v) for k, v in stats.items() if k.startswith("archive/truncated/")),
        warc_bytes=int(stats.get("archive/warc_bytes", 0)),
        found_by={k[len(prefix):]: int(v) for k, v in stats.items() if k.startswith(prefix)},
        pages=pages,
        bytes=fetched,
        failures=failures,
        warcs=warcs,
        events=[e.public() for e in monitored.events],
        read_as_visible_text=read_as_visible_text(store.db, crawl_id),
        alerts_sent=monitored.alerts.sent,
        alerts_failed=monitored.alerts.failed,
        error=stats.get("archive/failure"),
        cpu_seconds=round(sum(os.times()[:2]), 3),
        peak_rss_kb=peak_rss_kb(),
    )


def crawl_command(home: Home, selectors: list[str], overrides: Mapping[str, str],
                  ) -> list[str]:
    """The `vigil crawl --json` command line of a crawl in a child process."""
    command = [sys.executable, "-m", "crawler.cli", "--home", str(home.root), "crawl",
               "--json", *selectors]
    for name, value in overrides.items():
        command += ["-s", f"{name}={value}"]
    return command


def crawl_in_subprocess(home: Home, selectors: list[str], overrides: Mapping[str, str],
                        ) -> dict[str, Any]:
    """Run `vigil crawl --json` in a child process and return its summary.

    Twisted's reactor cannot be restarted, so a process that crawls more than once
    (the demo, a scheduler) runs each crawl in its own process. Progress and logs of
    the child go to this process's stderr.
    """
    done = subprocess.run(crawl_command(home, selectors, overrides), stdout=subprocess.PIPE,
                          check=False)
    try:
        summary: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise CrawlProcessError(f"the crawl process exited {done.returncode} without a "
                                "summary") from exc
    return summary
