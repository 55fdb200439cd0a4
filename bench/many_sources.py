"""Many sources: 300 one-page sources on 30 loopback hosts, captured twice by `vigil watch`.

Politeness stays at vigil's defaults (the FAST overrides of bench/run.py are not passed;
only the loopback network is allowed). Figures: the time until every source is captured,
CPU per source of the watch and all its crawl processes (their rusage, read once the watch
has exited), bytes added to the home per unchanged recapture of a URL, and the CPU of CLI
start-up against `sqlite-utils --version` in the same run. Run alone with
`python -m bench.many_sources`, or as part of `make bench`.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "work"
RESULTS = ROOT / "bench" / "results"
VIGIL = [sys.executable, "-m", "crawler.cli"]
SQLITE_UTILS = str(Path(sys.executable).with_name("sqlite-utils"))
HOSTS = [f"127.0.0.{n}" for n in range(10, 40)]
SOURCES = int(os.environ.get("BENCH_SOURCES", "300"))
LOOPBACK = ["-s", "CRAWL_ALLOW_NETWORKS=127.0.0.0/8"]
ROUND_LIMIT = float(os.environ.get("BENCH_ROUND_LIMIT", "600"))  # seconds, then give up
STARTUP_RUNS = 5
LAST_MODIFIED = "Mon, 30 Nov 2026 08:00:00 GMT"
# The figures of issue 19, measured before batched recapture (one process per source),
# and before lean revisits (bytes by part, 2026-12-01T203713Z).
BEFORE = {"captured_in_240_s": 100, "cpu_s_per_source_min": 1.08, "cpu_s_per_source_max": 1.15,
          "bytes_per_unchanged_recapture_per_url": 2534, "version_ratio": 3.5,
          "sources_json_ratio": 5.2,
          "bytes_per_url_by_part": {"warcs": 1176, "sqlite": 1009, "indexes": 316,
                                    "manifests": 30}}
BARS = {"seconds_until_all_captured": 180.0, "cpu_s_per_source": 0.15,
        "version_ratio": 1.5, "sources_json_ratio": 2.0}


def page(host: str, path: str) -> bytes:
    words = " ".join(f"{host}{path}-{n}" for n in range(60))
    return (f"<!doctype html><html><head><title>{path} on {host}</title></head><body>"
            f"<article><h1>Notice {path}</h1><p>{words}</p></article></body></html>").encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Site

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests += 1
        if self.path == "/robots.txt":
            self._send(200, b"User-agent: *\nAllow: /\n", "text/plain")
        elif self.path in self.server.pages:  # anything else is a 404, as on most sites
            self._send(200, page(self.server.host, self.path), "text/html; charset=utf-8")
        else:
            self._send(404, b"<h1>Not found</h1>", "text/html")

    def _send(self, status: int, body: bytes, kind: str) -> None:
        etag = f'"{hashlib.sha1(body).hexdigest()}"'
        if status == 200 and self.headers.get("If-None-Match") == etag:
            self.send_response(304)  # as nginx answers a conditional request
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        if status == 200:
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", LAST_MODIFIED)
        self.end_headers()
        self.wfile.write(body)


class _Site(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str) -> None:
        super().__init__((host, 0), _Handler)
        self.host = host
        self.requests = 0
        self.pages = {f"/notice/{n}" for n in range(-(-SOURCES // len(HOSTS)))}


@contextmanager
def sites() -> Iterator[list[_Site]]:
    """One small threaded HTTP server per loopback address."""
    servers = [_Site(host) for host in HOSTS]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield servers
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def source_urls(servers: list[_Site]) -> list[str]:
    """Sources spread over the hosts, ten per host at 300."""
    return [f"http://{s.host}:{s.server_address[1]}/notice/{n // len(servers)}"
            for n, s in zip(range(SOURCES), (servers * SOURCES)[:SOURCES], strict=True)]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_of(command: list[str]) -> float:
    """CPU seconds of one run of ``command`` (and anything it waited for)."""
    before = children_cpu()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return children_cpu() - before


def home_bytes(home: Path) -> dict[str, int]:
    """Bytes of the home by part (top-level folder, or the SQLite files together), once
    SQLite's write-ahead log is folded into the database: a WAL keeps its high-water size
    until a checkpoint truncates it, which would otherwise be noise in a difference."""
    with sqlite3.connect(home / "vigil.db", timeout=30) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    parts: dict[str, int] = {}
    for path in home.rglob("*"):
        if path.is_file():
            top = path.relative_to(home).parts[0]
            part = "sqlite" if top.startswith("vigil.db") else top
            parts[part] = parts.get(part, 0) + path.stat().st_size
    return parts


def sqlite_page_bytes(home: Path) -> int:
    """Bytes of the SQLite pages in use (page_count - freelist_count): what the rows and
    indexes take, without the free pages a file keeps once it has grown."""
    with sqlite3.connect(home / "vigil.db", timeout=30) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages, free, size = (conn.execute(f"PRAGMA {p}").fetchone()[0]
                             for p in ("page_count", "freelist_count", "page_size"))
    return int((pages - free) * size)


def _count(home: Path, sql: str) -> int:
    db = home / "vigil.db"
    if not db.exists():
        return 0
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        return int(conn.execute(sql).fetchone()[0])


def captured(home: Path, times: int) -> int:
    """Sources whose own URL has been captured at least ``times`` times."""
    return _count(home, "SELECT COUNT(*) FROM (SELECT source_id FROM captures WHERE "
                  f"found_by = 'seed' GROUP BY source_id HAVING COUNT(*) >= {times})")


def watch_round(home: Path, times: int, *, start_at: float | None = None) -> dict[str, Any]:
    """Run `vigil watch` until every source has ``times`` captures, stop it with SIGINT
    (the crawls in flight finish, as after any Ctrl-C), and read its CPU and that of its
    crawl processes once it has exited."""
    log = (home.parent / f"watch-{times}.log").open("wb")
    crawls_before = _count(home, "SELECT COUNT(*) FROM crawls")
    before = children_cpu()
    started = time.monotonic()
    watch = subprocess.Popen([*VIGIL, "--home", str(home), "watch", *LOOPBACK],
                             stdout=subprocess.DEVNULL, stderr=log)
    origin = start_at if start_at is not None else started
    done_at = None
    while time.monotonic() - origin < ROUND_LIMIT:
        if captured(home, times) >= SOURCES:
            done_at = time.monotonic()
            break
        if watch.poll() is not None:
            raise RuntimeError(f"vigil watch exited {watch.returncode}: see {log.name}")
        time.sleep(0.5)
    count = captured(home, times)
    watch.send_signal(signal.SIGINT)
    watch.wait(timeout=120)
    log.close()
    cpu = children_cpu() - before
    crawls = _count(home, "SELECT COUNT(*) FROM crawls") - crawls_before
    return {"seconds_until_all_captured": round(done_at - origin, 1) if done_at else None,
            "captured": count, "cpu_s": round(cpu, 2),
            "cpu_s_per_source": round(cpu / SOURCES, 4), "crawl_processes": crawls,
            "watch_seconds": round(time.monotonic() - started, 1)}


def next_minute(after: float) -> datetime:
    """The first whole UTC minute at least ``after`` seconds from now."""
    moment = datetime.now(UTC) + timedelta(seconds=after)
    return moment.replace(second=0, microsecond=0) + timedelta(minutes=1)


def startup_figures(home: Path) -> dict[str, Any]:
    """Median CPU of CLI start-up, each command run alternately in the same run."""
    runs: dict[str, list[float]] = {"sqlite_utils_version": [], "vigil_version": [],
                                    "vigil_sources_json": []}
    for _ in range(STARTUP_RUNS):
        runs["sqlite_utils_version"].append(cpu_of([SQLITE_UTILS, "--version"]))
        runs["vigil_version"].append(cpu_of([*VIGIL, "--version"]))
        runs["vigil_sources_json"].append(cpu_of([*VIGIL, "--home", str(home), "sources",
                                                  "--json"]))
    median = {k: statistics.median(v) for k, v in runs.items()}
    base = median["sqlite_utils_version"]
    return {**{f"{k}_cpu_s": round(v, 3) for k, v in median.items()},
            "version_ratio": round(median["vigil_version"] / base, 2),
            "sources_json_ratio": round(median["vigil_sources_json"] / base, 2),
            "runs": STARTUP_RUNS}


def figures() -> dict[str, Any]:
    WORK.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="many-sources-", dir=WORK))
    home = folder / "home"
    try:
        with sites() as servers:
            urls = source_urls(servers)
            listing = folder / "sources.txt"
            listing.write_text("\n".join(urls) + "\n")
            subprocess.run([*VIGIL, "--home", str(home), "add", "--from-file", str(listing),
                            "--depth", "0"], stdout=subprocess.DEVNULL, check=True)
            print(f"  {len(urls)} sources on {len(servers)} hosts: first capture …",
                  file=sys.stderr)
            first = watch_round(home, 1)
            size_first = home_bytes(home)
            pages_first = sqlite_page_bytes(home)
            rows_first = _count(home, "SELECT COUNT(*) FROM captures")
            # Every source due at the same whole minute (a cron schedule), once: the
            # second round recaptures each exactly once.
            at = next_minute(after=15)
            subprocess.run([*VIGIL, "--home", str(home), "add", "--from-file", str(listing),
                            "--cron", f"{at.minute} {at.hour} * * *"],
                           stdout=subprocess.DEVNULL, check=True)
            print(f"  unchanged recapture at {at:%H:%M} UTC …", file=sys.stderr)
            origin = time.monotonic() + (at - datetime.now(UTC)).total_seconds()
            second = watch_round(home, 2, start_at=origin)
            size_second = home_bytes(home)
            pages_second = sqlite_page_bytes(home)
            rows_second = _count(home, "SELECT COUNT(*) FROM captures")
            requests = sum(s.requests for s in servers)
        startup = startup_figures(home)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    added = sum(size_second.values()) - sum(size_first.values())
    recaptured = rows_second - rows_first
    by_part = {part: size_second.get(part, 0) - size_first.get(part, 0)
               for part in sorted(set(size_first) | set(size_second))}
    return {
        "sources": SOURCES, "hosts": len(HOSTS), "first_capture": first,
        "unchanged_recapture": second,
        "home_bytes_after_first": sum(size_first.values()),
        "home_bytes_after_second": sum(size_second.values()),
        "urls_recaptured": recaptured,
        "bytes_per_unchanged_recapture_per_url": round(added / max(recaptured, 1)),
        "bytes_per_url_by_part": {part: round(grown / max(recaptured, 1))
                                  for part, grown in by_part.items()},
        "sqlite_page_bytes_per_url": round((pages_second - pages_first)
                                           / max(recaptured, 1)),
        "bytes_per_unchanged_recapture_per_source": round(added / SOURCES),
        "http_requests": requests, "startup": startup, "before": BEFORE, "bars": BARS,
    }


def verdicts(result: dict[str, Any]) -> dict[str, bool]:
    first, second, startup = (result["first_capture"], result["unchanged_recapture"],
                              result["startup"])
    return {
        "all_captured_within_180_s": all(
            r["seconds_until_all_captured"] is not None
            and r["seconds_until_all_captured"] <= BARS["seconds_until_all_captured"]
            for r in (first, second)),
        "cpu_per_source": max(first["cpu_s_per_source"], second["cpu_s_per_source"])
        <= BARS["cpu_s_per_source"],
        "version_ratio": startup["version_ratio"] <= BARS["version_ratio"],
        "sources_json_ratio": startup["sources_json_ratio"] <= BARS["sources_json_ratio"],
    }


def main() -> None:
    sys.path.insert(0, str(ROOT))
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    found = figures()
    result = {"when": when, "command": "python -m bench.many_sources", "figures": found,
              "meets": verdicts(found)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"many-sources-{when.replace(':', '')}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
