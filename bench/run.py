"""`make bench`: vigil against wget and a bare Scrapy spider on one nginx-served site.

Every figure is the median of at least three runs with min and max; every comparison is a
ratio taken within the same run. Results: bench/results/<time>.json and BENCHMARKS.md.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import random
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "work"
RESULTS = ROOT / "bench" / "results"
VIGIL = [sys.executable, "-m", "crawler.cli"]
FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
        "-s", "CONCURRENT_REQUESTS=32", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=32",
        "-s", "LOG_LEVEL=ERROR",
        # The site is on loopback: the bare spider run with vigil's settings starts from a
        # URL that is no vigil source, which the destination policy would refuse.
        "-s", "CRAWL_ALLOW_NETWORKS=127.0.0.0/8"]
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
PAGES = int(os.environ.get("BENCH_PAGES", "2000"))
LARGE = int(os.environ.get("BENCH_LARGE_PAGES", "20000"))  # 0 skips the RSS growth figure
MANY = os.environ.get("BENCH_MANY_SOURCES", "1") != "0"  # 0 skips bench/many_sources.py
REAL_PAGES = os.environ.get("BENCH_REAL_PAGES", "1") != "0"  # 0 skips bench/realpages.py
RENDERED = os.environ.get("BENCH_RENDERED", "1") != "0"  # 0 skips bench/rendered.py
# Where the baseline runs. Outside the project it is a stock Scrapy spider (the bar). Inside
# it, scrapy.cfg gives it vigil's Scrapy settings (its download handler, which spares
# gzipped pages Scrapy's charset sniffing, CONCURRENT_ITEMS=1, …; the archiver and the
# conditional middleware stay off without a vigil home): for reference, that isolates
# what archiving costs.
OUTSIDE = Path(tempfile.gettempdir())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.2", 0))
        return int(probe.getsockname()[1])


class Nginx:
    def __init__(self, site: Path, *, gzip: bool = True) -> None:
        self.port = free_port()
        WORK.mkdir(parents=True, exist_ok=True)
        conf = WORK / f"nginx-{self.port}.conf"
        conf.write_text(f"""
worker_processes 1; daemon off; pid {WORK}/nginx-{self.port}.pid;
error_log {WORK}/nginx-error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off; sendfile on; keepalive_requests 1000000;
  types {{ text/html html; text/css css; image/jpeg jpg; }}
  default_type application/octet-stream;
  gzip {"on" if gzip else "off"}; gzip_types text/css;
  server {{ listen 127.0.0.2:{self.port}; root {site}; etag on; }}
}}""")
        self.process = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(WORK)],
                                        stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        self.base = f"http://127.0.0.2:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def timed(command: list[str], **kwargs: Any) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    return time.perf_counter() - start, done


def summary(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3), "runs": [round(v, 3) for v in values]}


def run_wget(base: str) -> tuple[float, int]:
    folder = Path(tempfile.mkdtemp(prefix="wget-", dir=WORK))
    seconds, _ = timed(["wget", "-r", "-l", "inf", "-q", "-e", "robots=off", "-P", str(folder),
                        f"--warc-file={folder}/wget", f"{base}/a/00000.html"])
    pages = len(list(folder.rglob("a/*.html")))
    shutil.rmtree(folder)
    return seconds, pages


def run_bare(base: str, *, inside_project: bool = False,
             spider: str = "bare_spider.py") -> tuple[float, int]:
    env = {k: v for k, v in os.environ.items() if k != "SCRAPY_SETTINGS_MODULE"}
    seconds, done = timed([sys.executable, "-m", "scrapy", "runspider",
                           str(ROOT / "bench" / spider), "-a",
                           f"start={base}/a/00000.html", *FAST],
                          cwd=WORK if inside_project else OUTSIDE, env=env)
    match = re.search(r"pages=(\d+)", done.stderr)
    if not match:
        raise RuntimeError(f"{spider} failed:\n{done.stderr[-2000:]}")
    return seconds, int(match.group(1))


def vigil(home: Path, *args: str) -> dict[str, Any]:
    done = subprocess.run([*VIGIL, "--home", str(home), *args], capture_output=True,
                          text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout) if done.stdout.strip() else {}
    return result


def run_vigil(base: str) -> tuple[float, int, dict[str, Any]]:
    home = Path(tempfile.mkdtemp(prefix="vigil-", dir=WORK))
    vigil(home, "add", f"{base}/a/00000.html", "--depth", "1000", "--ignore-robots", "--json")
    seconds, done = timed([*VIGIL, "--home", str(home), "crawl", "--json", *FAST])
    result = json.loads(done.stdout)
    pages = result["found_by"].get("seed", 0) + result["found_by"].get("related", 0)
    shutil.rmtree(home)
    return seconds, pages, result


def capture_figures(base: str) -> dict[str, Any]:
    rows = []
    for _ in range(RUNS):
        wget_s, wget_pages = run_wget(base)
        bare_s, bare_pages = run_bare(base)
        tuned_s, tuned_pages = run_bare(base, inside_project=True)
        stock_s, stock_pages = run_bare(base, spider="crawl_spider.py")
        vigil_s, vigil_pages, result = run_vigil(base)
        rows.append({"wget": wget_pages / wget_s, "bare": bare_pages / bare_s,
                     "tuned": tuned_pages / tuned_s, "stock": stock_pages / stock_s,
                     "vigil": vigil_pages / vigil_s, "vigil_pages": vigil_pages,
                     "cpu_ms": 1000 * result["cpu_seconds"] / max(vigil_pages, 1),
                     "rss_mb": result["peak_rss_kb"] / 1024})
        print(f"  run: wget {rows[-1]['wget']:.0f}/s, bare {rows[-1]['bare']:.0f}/s, "
              f"vigil {rows[-1]['vigil']:.0f}/s ({vigil_pages} pages)", file=sys.stderr)
    return {
        "wget_pages_per_s": summary([r["wget"] for r in rows]),
        "bare_scrapy_pages_per_s": summary([r["bare"] for r in rows]),
        "bare_scrapy_tuned_pages_per_s": summary([r["tuned"] for r in rows]),
        "crawlspider_pages_per_s": summary([r["stock"] for r in rows]),
        "vigil_pages_per_s": summary([r["vigil"] for r in rows]),
        "vigil_vs_crawlspider": summary([r["vigil"] / r["stock"] for r in rows]),
        "vigil_vs_bare_scrapy_tuned": summary([r["vigil"] / r["tuned"] for r in rows]),
        "vigil_vs_bare_scrapy": summary([r["vigil"] / r["bare"] for r in rows]),
        "vigil_vs_wget": summary([r["vigil"] / r["wget"] for r in rows]),
        "capture_cpu_ms_per_page": summary([r["cpu_ms"] for r in rows]),
        "peak_rss_mb": summary([r["rss_mb"] for r in rows]),
        "pages": rows[0]["vigil_pages"],
    }


def uncompressed_figures(base: str) -> dict[str, Any]:
    """The same pages from a server that does not compress them: vigil then gzips every
    body itself, and stock Scrapy is spared its charset sniffing of gzip bytes."""
    rows = []
    for _ in range(RUNS):
        bare_s, bare_pages = run_bare(base)
        stock_s, stock_pages = run_bare(base, spider="crawl_spider.py")
        vigil_s, vigil_pages, _result = run_vigil(base)
        rows.append({"bare": bare_pages / bare_s, "stock": stock_pages / stock_s,
                     "vigil": vigil_pages / vigil_s})
        print(f"  run: bare {rows[-1]['bare']:.0f}/s, CrawlSpider {rows[-1]['stock']:.0f}/s, "
              f"vigil {rows[-1]['vigil']:.0f}/s", file=sys.stderr)
    return {"bare_scrapy_pages_per_s": summary([r["bare"] for r in rows]),
            "crawlspider_pages_per_s": summary([r["stock"] for r in rows]),
            "vigil_pages_per_s": summary([r["vigil"] for r in rows]),
            "vigil_vs_bare_scrapy": summary([r["vigil"] / r["bare"] for r in rows]),
            "vigil_vs_crawlspider": summary([r["vigil"] / r["stock"] for r in rows])}


def server_ceiling(base: str) -> float:
    done = subprocess.run(["wrk", "-t2", "-c32", "-d4s", f"{base}/a/00001.html"],
                          capture_output=True, text=True, check=True)
    match = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    return float(match.group(1)) if match else 0.0


def monitor_figures(site: Path) -> dict[str, Any]:
    """Extraction and comparison of 300 page pairs (one word edited), on one core.

    Cold: both sides extracted, as for the first change of a page after its first
    capture. Warm: the earlier side's extract already stored, as the monitor keeps every
    extract it makes, so each later change of the page needs one new extraction (reading
    the stored one back from SQLite is included)."""
    sys.path.insert(0, str(ROOT))
    from monitor.compare import compare
    from monitor.extract import Extract, extract

    pages = sorted((site / "a").glob("*.html"))[:300]
    pairs = [(p.read_bytes(), p.read_bytes().replace(b"council", b"committee", 1))
             for p in pages]
    stored = sqlite3.connect(":memory:")
    stored.execute("CREATE TABLE extracts (id INTEGER PRIMARY KEY, data TEXT)")
    for number, (old, _new) in enumerate(pairs):
        found = extract(old, "http://bench/")
        assert found is not None
        stored.execute("INSERT INTO extracts VALUES (?, ?)",
                       (number, json.dumps(dataclasses.asdict(found))))
    cold, warm, per_page = [], [], []
    for _ in range(RUNS):
        start = time.process_time()
        for old, new in pairs:
            a, b = extract(old, "http://bench/"), extract(new, "http://bench/")
            if a is not None and b is not None:
                compare(a, b)
        elapsed = time.process_time() - start
        cold.append(len(pairs) / elapsed)
        start = time.process_time()
        for number, (_old, new) in enumerate(pairs):
            row = stored.execute("SELECT data FROM extracts WHERE id = ?", (number,)).fetchone()
            data = json.loads(row[0])
            a = Extract(**{**data, "paragraphs": tuple(data["paragraphs"]),
                           "outlinks": tuple(data["outlinks"])})
            b = extract(new, "http://bench/")
            if b is not None:
                compare(a, b)
        warm.append(len(pairs) / (time.process_time() - start))
        start = time.process_time()
        for old, _new in pairs:
            extract(old, "http://bench/")
        per_page.append(1000 * (time.process_time() - start) / len(pairs))
    return {"pairs_per_s_cold": summary(cold), "pairs_per_s_warm": summary(warm),
            "extract_ms_per_page": summary(per_page)}


def lookup_p95_ms() -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    from archive.timeutil import warc_date
    from crawler.app.store import Store

    db_path = WORK / "lookup.db"
    if not db_path.exists():
        store = Store.open(db_path)
        start = datetime(2020, 1, 1, tzinfo=UTC)
        rows = ((f"http://example.org/{u}", warc_date(start + timedelta(hours=c * 24 + u % 24)),
                 200, 200, "w.warc.gz", u * 1000 + c, 1, 0)
                for u in range(10_000) for c in range(100))
        with store.db.conn:
            store.db.conn.executemany(
                "INSERT INTO captures (url, timestamp, status, payload_status, warc, offset, "
                "length, revisit) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        store.close()
    store = Store.open(db_path)
    rng = random.Random(5)
    base = datetime(2020, 1, 1, tzinfo=UTC)
    runs = []
    for _ in range(RUNS):
        timings = []
        for _ in range(2000):
            url = f"http://example.org/{rng.randrange(10_000)}"
            at = base + timedelta(minutes=rng.randrange(100 * 24 * 60))
            start = time.perf_counter()
            store.captures.closest(url, at)
            timings.append((time.perf_counter() - start) * 1000)
        runs.append(statistics.quantiles(timings, n=20)[18])
    count = store.db.execute("SELECT COUNT(*) FROM captures").fetchone()[0]
    store.close()
    return {**summary(runs), "captures": count}


def _home_bytes(home: Path) -> int:
    return sum(f.stat().st_size for f in home.rglob("*") if f.is_file())


def _sqlite_pages_bytes(home: Path) -> int:
    """Bytes of the SQLite pages in use (page_count - freelist_count), after folding the
    write-ahead log into the database: file sizes alone keep a WAL's high-water mark."""
    with sqlite3.connect(home / "vigil.db", timeout=30) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages, free, size = (conn.execute(f"PRAGMA {p}").fetchone()[0]
                             for p in ("page_count", "freelist_count", "page_size"))
    return int((pages - free) * size)


def dedup_figures(base: str) -> dict[str, Any]:
    """Ten recaptures of an unchanged site: what they add on disk, the WARCs alone and the
    whole home (WARCs, SQLite, CDXJ indexes, manifests), and what they fetch."""
    home = Path(tempfile.mkdtemp(prefix="dedup-", dir=WORK))
    vigil(home, "add", f"{base}/a/00000.html", "--depth", "2", "--ignore-robots", "--json")
    first = vigil(home, "crawl", "--json", *FAST)
    warcs_first = vigil(home, "stats", "--json")["bytes_on_disk"]
    sqlite_first = _sqlite_pages_bytes(home)  # checkpoints the WAL before the sizes
    home_first = _home_bytes(home)
    fetched = []
    for _ in range(10):
        fetched.append(vigil(home, "crawl", "--json", *FAST)["bytes"])
    after = vigil(home, "stats", "--json")
    sqlite_after = _sqlite_pages_bytes(home)
    home_after = _home_bytes(home)
    recaptured = after["captures"] - first["pages"]
    shutil.rmtree(home)
    return {"pages": first["pages"],
            "disk_ratio_after_10_recaptures": round(after["bytes_on_disk"] / warcs_first, 3),
            "home_ratio_after_10_recaptures": round(home_after / home_first, 3),
            "home_bytes_first": home_first, "home_bytes_after_10_recaptures": home_after,
            "home_bytes_per_unchanged_recapture_per_url": round(
                (home_after - home_first) / max(recaptured, 1)),
            "warc_bytes_per_unchanged_recapture_per_url": round(
                (after["bytes_on_disk"] - warcs_first) / max(recaptured, 1)),
            "sqlite_page_bytes_per_unchanged_recapture_per_url": round(
                (sqlite_after - sqlite_first) / max(recaptured, 1)),
            "fetched_ratio_per_recapture": summary([f / first["bytes"] for f in fetched]),
            "revisits": after["revisits"]}


def recapture_only() -> None:
    """`BENCH_ONLY=recapture`: the ten unchanged recaptures alone, BENCH_RUNS times."""
    sys.path.insert(0, str(ROOT))
    from bench.site import generate

    small = WORK / "site-200"
    if not (small / "a" / "00199.html").exists():
        generate(small, 200)
    server = Nginx(small)
    try:
        runs = [dedup_figures(server.base) for _ in range(RUNS)]
    finally:
        server.stop()
    print(json.dumps({"command": "BENCH_ONLY=recapture python -m bench.run", "runs": runs},
                     indent=2))


def versions() -> dict[str, str]:
    def first_line(command: list[str]) -> str:
        try:
            done = subprocess.run(command, capture_output=True, text=True)
            return (done.stdout or done.stderr).strip().splitlines()[0]
        except (OSError, IndexError):
            return "unknown"
    import scrapy
    import warcio  # noqa: F401

    return {"python": platform.python_version(), "scrapy": scrapy.__version__,
            "wget": first_line(["wget", "--version"]), "nginx": first_line(["nginx", "-v"]),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                       f"{platform.platform()}"}


def main() -> None:
    if os.environ.get("BENCH_ONLY") == "recapture":
        recapture_only()
        return
    sys.path.insert(0, str(ROOT))
    from bench.site import generate

    site = WORK / f"site-{PAGES}"
    if not (site / "a" / f"{PAGES - 1:05d}.html").exists():
        print(f"generating {PAGES} pages …", file=sys.stderr)
        generate(site, PAGES)
    server = Nginx(site)
    figures: dict[str, Any] = {}
    try:
        steps: list[tuple[str, Callable[[], Any]]] = [
            ("server_ceiling_requests_per_s", lambda: server_ceiling(server.base)),
            ("capture", lambda: capture_figures(server.base)),
            ("monitor_one_core", lambda: monitor_figures(site)),
            ("lookup_p95_ms_1m_captures", lookup_p95_ms),
        ]
        for name, step in steps:
            print(f"{name} …", file=sys.stderr)
            figures[name] = step()
    finally:
        server.stop()
    # CPU per captured page: the crawl's own (capture, WARC, index, link classification,
    # the monitor's pass) plus one extraction per page, which the monitor makes of each
    # new payload when it is first compared.
    capture_cpu = figures["capture"]["capture_cpu_ms_per_page"]["median"]
    extraction = figures["monitor_one_core"]["extract_ms_per_page"]["median"]
    figures["cpu_ms_per_page"] = {"capture": capture_cpu, "extraction": extraction,
                                  "total": round(capture_cpu + extraction, 3)}
    plain = Nginx(site, gzip=False)
    try:
        print("capture, uncompressed …", file=sys.stderr)
        figures["capture_uncompressed"] = uncompressed_figures(plain.base)
    finally:
        plain.stop()
    small = WORK / "site-200"
    if not (small / "a" / "00199.html").exists():
        generate(small, 200)
    small_server = Nginx(small)
    try:
        print("dedup …", file=sys.stderr)
        figures["dedup"] = dedup_figures(small_server.base)
    finally:
        small_server.stop()
    if LARGE:
        big = WORK / f"site-{LARGE}"
        if not (big / "a" / f"{LARGE - 1:05d}.html").exists():
            generate(big, LARGE)
        big_server = Nginx(big)
        try:
            rss = [run_vigil(big_server.base)[2]["peak_rss_kb"] / 1024 for _ in range(RUNS)]
            figures["peak_rss_mb_large"] = {**summary(rss), "pages": LARGE}
        finally:
            big_server.stop()
    if MANY:
        from bench import many_sources

        print("many sources …", file=sys.stderr)
        figures["many_sources"] = many_sources.figures()
    if REAL_PAGES:
        from bench import realpages

        print("real pages …", file=sys.stderr)
        figures["real_pages"] = realpages.figures()
    if RENDERED and Path("/usr/bin/chromium").exists():
        from bench import rendered

        print("rendered pages …", file=sys.stderr)
        figures["rendered_pages"] = rendered.figures()
    result = {"when": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "pages": PAGES,
              "runs": RUNS, "versions": versions(), "figures": figures,
              "command": "make bench"}
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{result['when'].replace(':', '')}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    from bench.report import write_report

    write_report(result, ROOT / "BENCHMARKS.md")


if __name__ == "__main__":
    main()
