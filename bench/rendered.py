"""Rendered pages: how many a crawl renders a minute, and the CPU and memory each costs."""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ARTICLES = int(os.environ.get("BENCH_RENDERED_PAGES", "30"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
        "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8", "-s", "LOG_LEVEL=ERROR",
        "-s", "CRAWL_ALLOW_NETWORKS=127.0.0.0/8"]

SHELL = """<!doctype html><html><head><title>Loading</title></head><body>
<div id="app"></div><noscript>Please enable JavaScript.</noscript>
<script src="/static/app.js"></script></body></html>"""
APP = """const id = location.pathname.split('/')[2];
fetch('/api/' + id + '.json').then(r => r.json()).then(a => {
  const app = document.getElementById('app');
  app.innerHTML = '<article><h1></h1><div class=body></div><div style="height:2000px"></div>' +
    '<img loading="lazy" src="/img/' + id + '.png" width=200 height=100 alt=""></article>';
  app.querySelector('h1').textContent = a.title;
  for (const t of a.paragraphs) {
    const p = document.createElement('p'); p.textContent = t;
    app.querySelector('.body').appendChild(p);
  }
});"""


def _routes() -> dict[str, Any]:
    from crawler.demo.replica import png
    from crawler.demo.siteserver import Resource

    routes: dict[str, Any] = {
        "/": Resource(("<html><body><h1>Index</h1>" + "".join(
            f'<p><a href="/story/{n}/">Story {n}, and a few words on it</a></p>'
            for n in range(ARTICLES)) + "</body></html>").encode()),
        "/static/app.js": Resource(APP.encode(), content_type="application/javascript",
                                   gzip=True),
    }
    text = "The council met again on Tuesday to discuss the levee and its repairs. " * 8
    for n in range(ARTICLES):
        routes[f"/story/{n}/"] = Resource(SHELL.encode(), gzip=True)
        routes[f"/api/{n}.json"] = Resource(json.dumps(
            {"title": f"Story {n}", "paragraphs": [text] * 6}).encode(),
            content_type="application/json", gzip=True)
        routes[f"/img/{n}.png"] = Resource(png(200, 100, (n * 7 % 255, 90, 120)),
                                           content_type="image/png")
    return routes


def _tree(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = {pid}, [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _pss_mb(pids: set[int]) -> float:
    """Proportional set size: Chromium's processes share most of their pages, which a sum
    of RSS would count once per process."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def _run_once(base: str, tabs: int) -> dict[str, float]:
    home = Path(tempfile.mkdtemp(prefix="vigil-rendered-"))
    vigil = [sys.executable, "-m", "crawler.cli", "--home", str(home)]
    subprocess.run([*vigil, "add", f"{base}/", "--depth", "1", "--browser", "auto"],
                   check=True, capture_output=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    crawl = subprocess.Popen([*vigil, "crawl", "--json", *FAST, "-s",
                              f"BROWSER_MAX_TABS={tabs}"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, cwd=ROOT)
    peak = {"tree": 0.0}

    def sample() -> None:  # the sum of the crawl's processes: Python, Playwright, Chromium
        while crawl.poll() is None:
            peak["tree"] = max(peak["tree"], _pss_mb(_tree(crawl.pid)))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = crawl.communicate()
    took = time.monotonic() - started
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    summary = json.loads(out)
    stats = subprocess.run(["sqlite3", str(home / "vigil.db"), "SELECT stats FROM crawls"],
                           capture_output=True, text=True).stdout
    rendered = json.loads(stats.splitlines()[-1]).get("browser/pages", 0) if stats else 0
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"rendered": rendered, "seconds": took, "status": summary["status"],
            "pages_per_minute": rendered / took * 60 if took else 0.0,
            "cpu_ms_per_rendered_page": cpu / rendered * 1000 if rendered else 0.0,
            "peak_tree_pss_mb": peak["tree"]}


def _summary(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 2), "min": round(min(values), 2),
            "max": round(max(values), 2)}


def figures() -> dict[str, Any]:
    """``make bench``'s rendered-page figures, over ARTICLES script-rendered stories."""
    sys.path.insert(0, str(ROOT))
    from crawler.demo.siteserver import SiteServer

    tabs = int(os.environ.get("BENCH_RENDERED_TABS", "2"))
    with SiteServer(_routes(), host="127.0.0.9") as server:
        runs = [_run_once(server.base, tabs) for _ in range(RUNS)]
    return {
        "articles": ARTICLES, "tabs": tabs,
        "rendered": [r["rendered"] for r in runs],
        "pages_per_minute": _summary([r["pages_per_minute"] for r in runs]),
        "cpu_ms_per_rendered_page": _summary([r["cpu_ms_per_rendered_page"] for r in runs]),
        "peak_tree_pss_mb": _summary([r["peak_tree_pss_mb"] for r in runs]),
    }


def rows(f: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """BENCHMARKS.md's rows: (figure, measured, bar, verdict)."""
    def m(x: dict[str, float], unit: str) -> str:
        return f"{x['median']:.0f}{unit} (min {x['min']:.0f}, max {x['max']:.0f})"
    what = (f"script-rendered articles (empty app root, JSON API, lazy image; "
            f"{f['articles']} a crawl, {f['tabs']} tabs), Chromium through Scrapy's downloader")
    return [
        (f"{what}: rendered pages per minute", m(f["pages_per_minute"], "/min"), "report", "—"),
        ("CPU per rendered page, the crawl, Playwright and Chromium together",
         m(f["cpu_ms_per_rendered_page"], " ms"), "report", "—"),
        ("peak memory of the crawl's whole process tree while rendering (PSS summed)",
         m(f["peak_tree_pss_mb"], " MB"), "report", "—"),
    ]


if __name__ == "__main__":
    print(json.dumps(figures(), indent=2))
