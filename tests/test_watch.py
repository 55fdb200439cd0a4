"""`vigil watch`, run as users run it: schedules, stops, crashes, overlaps."""

from __future__ import annotations

import itertools
import json
import re
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
from crawler.demo.siteserver import Resource, SiteServer


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
        self.process.send_signal(signal.SIGINT)
        if signals == 2:  # once the first one is handled
            self.wait_for(lambda: "stopping" in self.text())
            self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=timeout)
        self.handle.close()
        return code


def finished(vigil: Vigil) -> list[dict[str, Any]]:
    return [c for c in vigil.json("crawls") if c["status"] == "finished"]


def _rows(vigil: Vigil, sql: str) -> list[Any]:
    db = vigil.home / "vigil.db"
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def captured(vigil: Vigil) -> int:
    """Sources whose own URL has a capture."""
    return len(_rows(vigil, "SELECT DISTINCT source_id FROM captures WHERE found_by = 'seed'"))


def spans(vigil: Vigil) -> list[tuple[str, str, list[int]]]:
    """Each crawl's start, end and sources, in order of start (to the microsecond)."""
    return sorted((start, end, json.loads(ids)) for start, end, ids in _rows(
        vigil, "SELECT started_at, ended_at, sources FROM crawls"))


def one_page(host: str) -> SiteServer:
    return SiteServer({"*": Resource(f"<html><body><p>A page of {host}.</p></body></html>"
                                     .encode())}, host=host)


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
    with one_page("127.0.0.4") as ticker:
        # A source due every second on another host: its crawls after the first show
        # that the watcher went on dispatching, and never took the first source again.
        vigil.run("add", ticker.url("/tick"), "--every", "1s", "--depth", "0")
        watch = Watch(vigil, "--batch-size", "1")
        watching.append(watch)
        watch.wait_for(lambda: _ticks_after_the_first_source(vigil) >= 2)
        assert watch.stop() == 0
    assert len([c for c in vigil.json("crawls") if 1 in c["sources"]]) == 2, \
        "five missed runs should be one"


def _ticks_after_the_first_source(vigil: Vigil) -> int:
    """Finished crawls of source 2 that started after the watcher's crawl of source 1."""
    ended = [end for _, end, ids in spans(vigil) if ids == [1] and end][1:]
    return len([start for start, end, ids in spans(vigil)
                if ids == [2] and end and ended and start > ended[0]])


def _slow(delay: float) -> dict[str, Any]:
    return slow_site(delay, "/2026/05/05/slow-", 30, "<h1>Slow</h1>")


def test_a_second_signal_stops_at_once_and_leaves_no_corrupt_file(
        vigil: Vigil, watching: list[Watch]) -> None:
    with SiteServer(_slow(2.0), host="127.0.0.2") as site:
        vigil.run("add", site.url("/2026/05/05/slow-0"))
        watch = Watch(vigil, "--grace", "60")
        watching.append(watch)
        # Stopped in the middle of the crawl: once it has captured its first pages.
        watch.wait_for(lambda: re.search(r"vigil: [1-9]\d* captured", watch.text()) is not None)
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
        watch = Watch(vigil, "--max-parallel", "1", "--batch-size", "1")
        watching.append(watch)
        watch.wait_for(lambda: len(finished(vigil)) >= 4)
        assert watch.stop() == 0
    for (_, end, _), (start, _, _) in itertools.pairwise(spans(vigil)):
        assert end <= start, "two crawls ran at once with --max-parallel 1"
    assert len({tuple(c["sources"]) for c in vigil.json("crawls")}) == 2


def test_a_crawl_process_that_dies_is_logged_and_the_source_retried(
        vigil: Vigil, watching: list[Watch]) -> None:
    with SiteServer(_slow(0.5), host="127.0.0.2") as site, one_page("127.0.0.4") as other:
        url = site.url("/2026/05/05/slow-0")
        vigil.run("add", url, "--every", "2s")
        vigil.run("add", other.url("/other"), "--every", "1s", "--depth", "0")
        watch = Watch(vigil, "--batch-size", "1")
        watching.append(watch)
        watch.wait_for(lambda: _crawl_pid(url) is not None)
        # Killed once its crawl has its row (which the next start marks interrupted).
        watch.wait_for(lambda: bool(_rows(
            vigil, "SELECT id FROM crawls WHERE status = 'running' AND sources = '[1]'")))
        pid = _crawl_pid(url)
        assert pid is not None
        subprocess.run(["kill", "-9", str(pid)], check=True)
        watch.wait_for(lambda: "died" in watch.text())
        watch.wait_for(lambda: any(c["sources"] == [1] for c in finished(vigil)))
        assert watch.stop() == 0
    crawls = vigil.json("crawls")
    assert [c["status"] for c in crawls if c["sources"] == [1]][:1] == ["interrupted"]
    # The other source's batch was never held up by the crash of this one.
    killed = next(c for c in crawls if c["status"] == "interrupted")
    assert any(c["sources"] == [2] and c["status"] == "finished" and c["id"] > killed["id"]
               for c in crawls)


def test_a_crashed_batch_runs_once_more_soon_not_a_day_later(
        vigil: Vigil, watching: list[Watch]) -> None:
    vigil.run("sources")  # creates the home and its config
    config = vigil.home / "vigil.toml"
    config.write_text(config.read_text() + "\n[watch]\nretry_after = 1\n")
    with SiteServer(_slow(0.5), host="127.0.0.2") as site:
        url = site.url("/2026/05/05/slow-0")
        vigil.run("add", url)  # due once a day
        watch = Watch(vigil)
        watching.append(watch)
        watch.wait_for(lambda: bool(_rows(
            vigil, "SELECT id FROM crawls WHERE status = 'running' AND sources = '[1]'")))
        pid = _crawl_pid(url)
        assert pid is not None
        subprocess.run(["kill", "-9", str(pid)], check=True)
        watch.wait_for(lambda: "1 run again in 1 s" in watch.text())
        watch.wait_for(lambda: bool(finished(vigil)))
        assert watch.stop() == 0
    assert [c["status"] for c in vigil.json("crawls")] == ["interrupted", "finished"]


def test_sources_due_together_share_one_crawl_process(
        vigil: Vigil, watching: list[Watch]) -> None:
    with one_page("127.0.0.2") as a, one_page("127.0.0.3") as b, one_page("127.0.0.4") as c:
        for site in (a, b, c):
            vigil.run("add", site.url("/page"), "--depth", "0")
        watch = Watch(vigil, "--batch-window", "5")
        watching.append(watch)
        watch.wait_for(lambda: captured(vigil) == 3 and bool(finished(vigil)))
        assert watch.stop() == 0
    assert [c["sources"] for c in vigil.json("crawls")] == [[1, 2, 3]]
    assert "crawling 3 source(s)" in watch.text()


def test_batch_size_bounds_a_crawl_and_a_host_is_in_one_crawl_at_a_time(
        vigil: Vigil, watching: list[Watch]) -> None:
    with one_page("127.0.0.2") as site:
        for n in range(5):
            vigil.run("add", site.url(f"/page-{n}"), "--depth", "0")
        watch = Watch(vigil, "--batch-size", "2", "--max-parallel", "2")
        watching.append(watch)
        watch.wait_for(lambda: captured(vigil) == 5 and len(finished(vigil)) == 3)
        assert watch.stop() == 0
    crawled = spans(vigil)
    assert sorted(len(ids) for _, _, ids in crawled) == [1, 2, 2]
    for (_, end, _), (start, _, _) in itertools.pairwise(crawled):
        assert end <= start, "two crawls of one host ran at once"


def test_watch_settings_come_from_the_config_and_a_bad_one_is_a_one_line_error(
        vigil: Vigil, watching: list[Watch]) -> None:
    vigil.run("sources")  # creates the home and its config
    config = vigil.home / "vigil.toml"
    config.write_text(config.read_text() + "\n[watch]\nbatch_size = 0\n")
    bad = vigil.run("watch", ok=False)
    assert bad.returncode == 2
    assert b"[watch] batch_size must be an integer of at least 1" in bad.stderr
    config.write_text(config.read_text().replace("batch_size = 0",
                                                 "batch_size = 7\nbatch_window = 0.5"))
    watch = Watch(vigil)
    watching.append(watch)
    watch.wait_for(lambda: "watching" in watch.text())
    assert watch.stop() == 0
    assert "up to 7 due sources per crawl (gathered for 0.5 s)" in watch.text()


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
