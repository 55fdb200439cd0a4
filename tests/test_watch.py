"""`vigil watch`, run as users run it: schedules, stops, crashes, overlaps."""

from __future__ import annotations

import itertools
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import FAST, Vigil, slow_site
from crawler.demo.replica import SEED_PATH
from crawler.demo.siteserver import SiteServer


class Watch:
    def __init__(self, vigil: Vigil, *args: str) -> None:
        self.vigil = vigil
        self.log = vigil.home.parent / "watch.log"
        self.handle = open(self.log, "wb")  # noqa: SIM115 -- closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "crawler.cli", "--home", str(vigil.home), "watch", *FAST,
             *args], stdout=subprocess.DEVNULL, stderr=self.handle)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, what: Callable[[], bool], timeout: float = 90) -> None:
        limit = time.monotonic() + timeout
        while not what():
            assert self.process.poll() is None, f"watch exited:\n{self.text()}"
            assert time.monotonic() < limit, f"timed out:\n{self.text()}"
            time.sleep(0.3)

    def stop(self, signals: int = 1, timeout: float = 60) -> int:
        for _ in range(signals):
            self.process.send_signal(signal.SIGINT)
            time.sleep(0.3)
        code = self.process.wait(timeout=timeout)
        self.handle.close()
        return code


def finished(vigil: Vigil) -> list[dict[str, Any]]:
    return [c for c in vigil.json("crawls") if c["status"] == "finished"]


@pytest.fixture
def watching(vigil: Vigil) -> Iterator[list[Watch]]:
    started: list[Watch] = []
    yield started
    for watch in started:
        if watch.process.poll() is None:
            watch.process.kill()
            watch.process.wait()


def test_watch_recaptures_on_a_seconds_schedule_and_stops_cleanly_on_sigint(
        vigil: Vigil, news: SiteServer, watching: list[Watch]) -> None:
    url = news.url(SEED_PATH)
    vigil.run("add", url, "--every", "2s")
    watch = Watch(vigil)
    watching.append(watch)
    watch.wait_for(lambda: len(finished(vigil)) >= 3)
    assert watch.stop() == 0
    assert "stopped" in watch.text()
    crawls = vigil.json("crawls")
    assert all(c["status"] == "finished" for c in crawls)
    assert all(Path(c["log"]).exists() for c in crawls)
    revisits = [e for e in vigil.json("history", news.url("/static/css/site.css"))
                if e["revisit"]]
    assert revisits
    assert vigil.get(news.url("/static/css/site.css"), "--at", revisits[-1]["datetime"]) == \
        news.sent["/static/css/site.css"][0]
    [source] = vigil.json("sources")
    assert source["last_capture"] is not None and source["next_capture"] > \
        source["last_capture"]


def test_runs_missed_while_stopped_are_coalesced_into_one(
        vigil: Vigil, news: SiteServer, watching: list[Watch]) -> None:
    url = news.url(SEED_PATH)
    vigil.run("add", url, "--every", "1h")
    vigil.crawl()
    with sqlite3.connect(vigil.home / "vigil.db") as conn:  # as if stopped for 5 hours
        conn.execute("UPDATE captures SET timestamp = '2000-01-01T00:00:00.000000Z'")
    watch = Watch(vigil)
    watching.append(watch)
    watch.wait_for(lambda: len(finished(vigil)) >= 2)
    time.sleep(4)
    assert watch.stop() == 0
    assert len(vigil.json("crawls")) == 2, "five missed runs should be one"


def _slow(delay: float) -> dict[str, Any]:
    return slow_site(delay, "/2026/05/05/slow-", 30, "<h1>Slow</h1>")


def test_a_second_signal_stops_at_once_and_leaves_no_corrupt_file(
        vigil: Vigil, watching: list[Watch]) -> None:
    with SiteServer(_slow(1.0), host="127.0.0.2") as site:
        vigil.run("add", site.url("/2026/05/05/slow-0"))
        watch = Watch(vigil, "--grace", "60")
        watching.append(watch)
        watch.wait_for(lambda: "crawling" in watch.text())
        time.sleep(3)
        started = time.monotonic()
        assert watch.stop(signals=2) == 0
        assert time.monotonic() - started < 30
    vigil.json("reindex")  # what the next start does; check_archive follows at teardown


def test_crawls_of_one_source_never_overlap_and_max_parallel_is_kept(
        vigil: Vigil, watching: list[Watch]) -> None:
    with SiteServer(_slow(0.3), host="127.0.0.2") as one, \
            SiteServer(_slow(0.3), host="127.0.0.3") as two:
        vigil.run("add", one.url("/2026/05/05/slow-0"), "--every", "1s", "--depth", "0")
        vigil.run("add", two.url("/2026/05/05/slow-0"), "--every", "1s", "--depth", "0")
        watch = Watch(vigil, "--max-parallel", "1")
        watching.append(watch)
        watch.wait_for(lambda: len(finished(vigil)) >= 4)
        assert watch.stop() == 0
    with sqlite3.connect(vigil.home / "vigil.db") as conn:  # to the microsecond
        spans = sorted(conn.execute("SELECT started_at, ended_at FROM crawls").fetchall())
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end <= start, "two crawls ran at once with --max-parallel 1"
    assert len({tuple(c["sources"]) for c in vigil.json("crawls")}) == 2


def test_a_crawl_process_that_dies_is_logged_and_the_source_retried(
        vigil: Vigil, watching: list[Watch]) -> None:
    with SiteServer(_slow(0.5), host="127.0.0.2") as site:
        url = site.url("/2026/05/05/slow-0")
        vigil.run("add", url, "--every", "2s")
        watch = Watch(vigil)
        watching.append(watch)
        watch.wait_for(lambda: _crawl_pid(url) is not None)
        time.sleep(1.5)
        pid = _crawl_pid(url)
        assert pid is not None
        subprocess.run(["kill", "-9", str(pid)], check=True)
        watch.wait_for(lambda: "died" in watch.text())
        watch.wait_for(lambda: len(finished(vigil)) >= 1)
        assert watch.stop() == 0
    statuses = [c["status"] for c in vigil.json("crawls")]
    assert "interrupted" in statuses and "finished" in statuses


def _crawl_pid(url: str) -> int | None:
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"crawl" in command and url.encode() in command:
            return int(proc.name)
    return None
