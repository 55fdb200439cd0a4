"""A progress line on stderr while a crawl runs (stdout stays clean for --json)."""

from __future__ import annotations

import sys
from typing import TextIO

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet import task


def human_bytes(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} TB"


class Progress:
    """Prints captured pages, bytes and failures every PROGRESS_INTERVAL seconds."""

    def __init__(self, crawler: Crawler, interval: float, stream: TextIO) -> None:
        self.crawler = crawler
        self.interval = interval
        self.stream = stream
        self.tty = stream.isatty()
        self._loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Progress:
        if not crawler.settings.getbool("PROGRESS_ENABLED"):
            raise NotConfigured
        ext = cls(crawler, crawler.settings.getfloat("PROGRESS_INTERVAL"), sys.stderr)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def line(self) -> str:
        stats = self.crawler.stats
        assert stats is not None
        captured = stats.get_value("archive/responses", 0)
        payload = stats.get_value("archive/payload_bytes", 0)
        failed = stats.get_value("crawl/failures", 0)
        return f"vigil: {captured} captured ({human_bytes(payload)}), {failed} failed"

    def report(self) -> None:
        end = "\r" if self.tty else "\n"
        self.stream.write(self.line() + end)
        self.stream.flush()

    def spider_opened(self, spider: Spider) -> None:
        self._loop = task.LoopingCall(self.report)
        self._loop.start(self.interval, now=False)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        if self.tty:
            self.stream.write(" " * 70 + "\r")
            self.stream.flush()
