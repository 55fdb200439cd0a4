"""`vigil demo`: capture the bundled replica news site, offline, and show what was kept."""

from __future__ import annotations

import errno
import time
from collections.abc import Callable
from typing import Any

import click

from crawler.app.home import Home
from crawler.app.runner import CrawlProcessError, crawl_in_subprocess
from crawler.app.store import Store
from crawler.demo.replica import (
    DEPTH_TWO,
    LIVE_PATH,
    SEED_PATH,
    news_site,
    outside_site,
    quietly_edit,
)
from crawler.demo.siteserver import Route, SiteServer

# Fixed ports keep the demo's source URL stable between runs; any free port otherwise.
NEWS_ADDRESS = ("127.0.0.1", 8741)
OUTSIDE_ADDRESS = ("127.0.0.2", 8742)

# The replica is on loopback and ours: no need to be polite to it, and the site it cites
# (on another loopback address) may be fetched.
DEMO_SETTINGS = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
    "CRAWL_ALLOW_NETWORKS": "127.0.0.0/8",
}


def _serve(routes: dict[str, Route], address: tuple[str, int]) -> SiteServer:
    host, port = address
    for candidate_host, candidate_port in ((host, port), (host, 0), ("127.0.0.1", 0)):
        try:
            return SiteServer(routes, candidate_host, candidate_port).start()
        except OSError as exc:
            if exc.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL):
                raise
    raise OSError(f"cannot listen on {host}")


def _crawl(home: Home, urls: list[str]) -> dict[str, Any]:
    try:
        summary = crawl_in_subprocess(home, urls, DEMO_SETTINGS)
    except CrawlProcessError as exc:
        raise click.ClickException(f"the demo crawl failed: {exc}") from exc
    if summary["status"] != "finished":
        raise click.ClickException(f"the demo crawl failed ({summary['finish_reason']}); "
                                   "see the log above")
    return summary


def echo(text: str = "") -> None:
    click.echo(text, err=True)


def run_demo(home: Home, open_store: Callable[[], Store], *, serve_only: bool = False) -> None:
    outside = _serve(outside_site(), OUTSIDE_ADDRESS)
    news = _serve(news_site(outside.base), NEWS_ADDRESS)
    seed = news.url(SEED_PATH)
    echo(f"Replica news site:   {news.base}/  (cites {outside.base}/)")
    if serve_only:
        echo("Serving until Ctrl-C.")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return
    store = open_store()
    try:
        source = store.upsert_source(seed, name="riverside-herald", depth=1,
                                     ignore_robots=False)
        # An article written by script: rendered in Chromium, with a screenshot beside it.
        live = store.upsert_source(news.url(LIVE_PATH), name="riverside-herald-live",
                                   depth=0, ignore_robots=False)
        echo(f"Sources:             {source.url}")
        echo(f"                     {live.url} (rendered by script)")
        echo("Capturing …")
        summary = _crawl(home, [source.url, live.url])
        by_kind = ", ".join(f"{n} {k}" for k, n in sorted(summary["found_by"].items()))
        echo()
        echo(f"Captured {summary['pages']} responses ({by_kind}); "
             f"{summary['failures']} failed fetches.")
        for warc in summary["warcs"]:
            echo(f"  {home.root / warc}")
        never = news.url(DEPTH_TWO)
        echo(f"Not followed (depth 2, tag and author pages, sidebar): e.g. {never}")
        echo()
        echo("Now the replica is changed the way sources change: the lead article's denial "
             "is rewritten,\na related article is replaced by a notice, and the cited "
             "report is withdrawn. Recapturing …")
        quietly_edit(news.routes, outside.routes, outside.base)
        second = _crawl(home, [source.url, live.url])
        echo(f"\n{len(second['events'])} change(s) detected:")
        for event in second["events"]:
            echo(f"  {event['kind']:10} {event['url']}")
            echo(f"             {event['summary']}")
    finally:
        store.close()
        news.stop()
        outside.stop()
    cmd = f"vigil --home {home.root}"
    click.echo(f"""
Next, try (the archive works with the replica site stopped):
  .venv/bin/{cmd} sources
  .venv/bin/{cmd} history {seed}
  .venv/bin/{cmd} get {seed} | head -20
  .venv/bin/{cmd} history {outside.base}/documents/inspection-summary.pdf --json
  .venv/bin/{cmd} changes
  .venv/bin/{cmd} diff {seed}
  .venv/bin/{cmd} get {news.url(LIVE_PATH)} --screenshot -o live.png
  .venv/bin/{cmd} serve          # then open http://127.0.0.1:8080/changes
  .venv/bin/warcio check {home.root}/warcs/*.warc.gz
""", err=True)
