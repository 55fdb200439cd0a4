"""Real pages end to end: the vigil CLI crawls each corpus page and its variants on loopback,
and its events are checked against bench.realpages' judgement of the same variants.

bench/realpages.py judges a variant as the monitor would (extract, classify, compare; no
crawl). Here each page is served by a real HTTP server on its own loopback address, at its
original path; `vigil add` and `vigil crawl --json` capture it once, then a copy of that
archive home is crawled again with the page replaced by one variant (all pages at once,
one crawl per kind of variant), and the events of the crawl are the CLI's answer. Three
ways of serving: no validators (``plain``), ETag and Last-Modified that are never honoured
(``validators``), and a server that answers 304 to a matching If-None-Match (``304``);
and, on request, a site that answers unknown URLs (vigil's not-found probe) with its
not-found template and a 200 (``soft404``), or with the page itself, as a site that
routes on an id and ignores the rest of the path does (``catchall``).
Besides the bench's variants, each page is served again unchanged (``unchanged``): no
event, and under ``304`` the crawl reads the archived page.

    python -m bench.e2e_realpages [--pages N] [--every K] [--start S] [--modes plain,304]
                                  [--json FILE] [--keep DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IResolverSimple
from zope.interface import implementer

from bench.corpus import Page, load
from bench.realpages import judge
from bench.variants import EDITS, NOISE, REMOVALS, Kind, Variant, variants
from crawler.demo.siteserver import SiteServer
from monitor.extract import extract

ROOT = Path(__file__).resolve().parent.parent
# Loopback sites are ours: politeness off, loopback allowed (tests/conftest.py's FAST).
CRAWL_SETTINGS = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
                  "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8", "-s", "DOWNLOAD_TIMEOUT=10",
                  "-s", "CRAWL_ALLOW_NETWORKS=127.0.0.0/8"]
# The pages' links and requisites on other sites name hosts this machine cannot resolve;
# each lookup costs a DNS timeout (a crawl of 20 pages, 4 minutes). They fail at once
# instead, as they fail anyway; the loopback sites are addressed by IP.
OFFLINE_DNS = ["-s", "DNS_RESOLVER=bench.e2e_realpages.OfflineResolver"]
UNCHANGED = "unchanged"  # the base page served again
MODES = ("plain", "validators", "304", "soft404", "catchall")
DEFAULT_MODES = MODES[:3]
# The base page as published long before the first capture; a variant when it was made.
PUBLISHED = "Sun, 01 Nov 2026 08:00:00 GMT"
HOME_PAGE = (b"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Home</title></head>"
             b"<body><h1>Front page</h1><ul><li><a href='/a/'>A story</a></li>"
             b"<li><a href='/b/'>Another story</a></li></ul></body></html>")
NOT_FOUND = b"<html><body><h1>Not found</h1></body></html>"
CLI_TIMEOUT = 900


@implementer(IResolverSimple)
class OfflineResolver:
    """A Scrapy DNS_RESOLVER that knows no names: an IP address is itself, any name a
    lookup error."""

    def __init__(self, reactor: Any) -> None:
        self.reactor = reactor

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> OfflineResolver:
        return cls(reactor)

    def install_on_reactor(self) -> None:
        self.reactor.installResolver(self)

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return defer.fail(DNSLookupError(f"{name}: no DNS in this benchmark"))
        return defer.succeed(name)


@dataclass
class Answer:
    """What the server says at the page's URL now."""

    status: int
    body: bytes = b""
    location: str | None = None
    last_modified: str | None = None

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:20] + '"'


def _answer(variant: Variant, modified: str) -> Answer:
    return Answer(variant.status, variant.html, variant.location,
                  modified if variant.status == 200 else None)


class Site:
    """One page's loopback site: the page at its own path, the site's not-found template
    (its 404 variant, else a bare one) at any other path, and a home page."""

    def __init__(self, page: Page, address: str, not_found: bytes) -> None:
        parts = urlsplit(page.url)
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.not_found = not_found
        self.mode = "plain"
        self.answer = Answer(200)
        self.requests: Counter[str] = Counter()
        self.server = SiteServer({"*": self._handle}, host=address).start()
        self.url = self.server.url(self.path)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path
        if path == self.path or (self.mode == "catchall" and path != "/"):
            self._page(handler)
        elif path == "/":
            self._send(handler, 200, HOME_PAGE)
        else:  # a soft-404 site answers every unknown URL with its template, and a 200
            self._send(handler, 200 if self.mode == "soft404" else 404, self.not_found)

    def _page(self, handler: BaseHTTPRequestHandler) -> None:
        answer = self.answer
        headers: list[tuple[str, str]] = []
        if answer.location is not None:
            headers.append(("Location", answer.location))
        validators = self.mode in ("validators", "304") and answer.status == 200
        if validators:
            headers.append(("ETag", answer.etag))
            if answer.last_modified:
                headers.append(("Last-Modified", answer.last_modified))
        asked = handler.headers.get("If-None-Match")
        self.requests["conditional" if asked else "whole"] += 1
        if validators and self.mode == "304" and asked is not None and \
                answer.etag in [tag.strip() for tag in asked.split(",")]:
            self.requests["304"] += 1
            self._send(handler, 304, b"", headers)
            return
        self._send(handler, answer.status, answer.body, headers)

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes,
              headers: list[tuple[str, str]] | None = None) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        for name, value in headers or []:
            handler.send_header(name, value)
        if status != 304:
            handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if status != 304:
            handler.wfile.write(body)

    def stop(self) -> None:
        self.server.stop()


@dataclass
class Case:
    """One page and its variants, as the bench and the CLI see them."""

    page: Page  # with the loopback URL
    site: Site
    base: bytes
    made: dict[str, Variant]
    bench: dict[str, tuple[str | None, bool, str]] = field(default_factory=dict)
    # mode -> label -> the CLI's events on this page's site; and what the server was asked
    cli: dict[str, dict[str, list[dict[str, Any]]]] = field(
        default_factory=lambda: defaultdict(dict))
    asked: dict[str, dict[str, dict[str, int]]] = field(
        default_factory=lambda: defaultdict(dict))


def vigil(home: Path, *args: str) -> Any:
    """`vigil --home HOME ARGS --json`, run as a user runs it; its JSON."""
    command = [sys.executable, "-m", "crawler.cli", "--home", str(home), *args, "--json"]
    # This tree's code, whatever the venv's editable install points at (a worktree of
    # the repository runs its own commit, out of reach of edits in progress elsewhere).
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, capture_output=True, cwd=ROOT, env=env,
                          timeout=CLI_TIMEOUT)
    if done.returncode != 0:
        raise RuntimeError(f"vigil {' '.join(args[:2])} exited {done.returncode}: "
                           f"{done.stderr.decode(errors='replace')[-2000:]}")
    return json.loads(done.stdout)


def prepare(pages: list[Page]) -> list[Case]:
    cases = []
    for number, page in enumerate(pages):
        base, made = variants(page)
        by_kind: dict[str, Variant] = {str(v.kind): v for v in made}
        by_kind[UNCHANGED] = Variant(Kind.NONCES, base)
        gone = by_kind.get(str(Kind.GONE_404))
        address = f"127.42.{number // 250}.{number % 250 + 1}"
        site = Site(page, address, gone.html if gone is not None else NOT_FOUND)
        served = replace(page, url=site.url)
        case = Case(served, site, base, by_kind)
        reading = extract(base, served.url)
        for label, variant in by_kind.items():
            outcome = judge(extract, served, reading, variant)
            case.bench[label] = (outcome.event, outcome.quoted, outcome.summary)
        cases.append(case)
    return cases


def _events_by_page(cases: list[Case], events: list[dict[str, Any]],
                    ) -> dict[int, list[dict[str, Any]]]:
    hosts = {urlsplit(c.page.url).netloc: i for i, c in enumerate(cases)}
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        index = hosts.get(urlsplit(event["url"]).netloc)
        if index is not None:
            found[index].append(event)
    return found


def run_mode(cases: list[Case], mode: str, work: Path, labels: list[str],
             settings: list[str]) -> dict[str, Any]:
    """The first crawl, then one crawl per kind of variant from a copy of its home."""
    for case in cases:
        case.site.mode = mode
        case.site.answer = _answer(Variant(Kind.NONCES, case.base), PUBLISHED)
    base_home = work / mode / "base"
    vigil(base_home, "add", *[c.page.url for c in cases])
    started = time.monotonic()
    first = vigil(base_home, "crawl", *settings)
    info: dict[str, Any] = {"first_events": first["events"], "crawls": {},
                            "first_seconds": round(time.monotonic() - started, 1)}
    for label in labels:
        home = work / mode / label.replace(" ", "_").replace("'", "")
        shutil.copytree(base_home, home)
        modified = formatdate(time.time(), usegmt=True)
        for case in cases:
            case.site.requests.clear()
            variant = case.made.get(label)
            case.site.answer = _answer(variant, modified if label != UNCHANGED else PUBLISHED) \
                if variant is not None else Answer(200)
        started = time.monotonic()
        summary = vigil(home, "crawl", *settings)
        seconds = time.monotonic() - started
        listed = vigil(home, "changes")
        crawl_events = summary["events"]
        by_page = _events_by_page(cases, crawl_events)
        for index, case in enumerate(cases):
            if label in case.made:
                case.cli[mode][label] = [
                    {"kind": e["kind"], "url": e["url"], "summary": e["summary"]}
                    for e in by_page.get(index, [])]
                case.asked[mode][label] = dict(case.site.requests)
        info["crawls"][label] = {
            "seconds": round(seconds, 1), "pages": summary["pages"],
            "events": len(crawl_events), "failures": summary["failures"],
            "read_as_visible_text": summary.get("read_as_visible_text"),
            "changes_agree": sorted(e["id"] for e in listed) ==
            sorted(e["id"] for e in crawl_events)}
        print(f"  {mode} {label}: {len(crawl_events)} events, {seconds:.1f} s", flush=True)
        if not info["crawls"][label]["changes_agree"]:
            print(f"    `vigil changes` and the crawl summary differ on {label}", flush=True)
    return info


def wanted(label: str) -> str | None:
    if label in (UNCHANGED, *map(str, NOISE)):
        return None
    return "edited" if label in map(str, EDITS) else "removed"


def cli_outcome(case: Case, mode: str, label: str) -> tuple[str | None, bool, list[str]]:
    """The event the CLI raised on the page itself (the first, if several), whether its
    summary quotes the changed words, and every event of the page's site, one line each."""
    events = case.cli[mode][label]
    own = [e for e in events if _path(e["url"]) == case.site.path]
    lines = [f"{e['kind']} {e['url'] if e not in own else ''}: {e['summary'][:200]}"
             for e in events]
    if not own:
        return None, False, lines
    event = own[0]
    quote = case.made[label].quote
    return event["kind"], all(word in event["summary"] for word in quote), lines


def _hit(want: str | None, event: str | None, quoted: bool) -> bool:
    """Noise: an event was raised; an edit: `edited`, quoting the change; a removal:
    `removed`."""
    if want is None:
        return event is not None
    return event == want and (quoted or want != "edited")


def _path(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def tally(cases: list[Case], modes: list[str], labels: list[str]) -> dict[str, Any]:
    """Per kind: how many variants, the bench's hits and each mode's (events for noise,
    `edited` quoting the change for edits, `removed` for removals), and disagreements."""
    rows: dict[str, Any] = {}
    disagreements: list[dict[str, Any]] = []
    for label in labels:
        want = wanted(label)
        present = [c for c in cases if label in c.made]
        row: dict[str, Any] = {"variants": len(present)}
        row["bench"] = sum(_hit(want, c.bench[label][0], c.bench[label][1]) for c in present)
        row["bench_events"] = dict(Counter(str(c.bench[label][0]) for c in present))
        for mode in modes:
            outcomes = [(c, cli_outcome(c, mode, label)) for c in present
                        if label in c.cli[mode]]
            row[mode] = sum(_hit(want, event, quoted) for _c, (event, quoted, _l) in outcomes)
            row[f"{mode}_events"] = dict(Counter(str(o[1][0]) for o in outcomes))
            row[f"{mode}_304"] = sum(c.asked[mode].get(label, {}).get("304", 0)
                                     for c, _o in outcomes)
            for case, (event, quoted, lines) in outcomes:
                bench_event, bench_quoted, bench_summary = case.bench[label]
                quoting = event == bench_event == "edited" and quoted != bench_quoted
                if event != bench_event or quoting:
                    disagreements.append({
                        "mode": mode, "kind": label, "page": case.page.name,
                        "url": case.page.url, "bench": bench_event,
                        "bench_quoted": bench_quoted, "bench_summary": bench_summary[:300],
                        "cli": event, "cli_quoted": quoted, "cli_events": lines,
                        "asked": case.asked[mode].get(label, {})})
        rows[label] = row
    return {"rows": rows, "disagreements": disagreements}


def render(result: dict[str, Any], modes: list[str]) -> str:
    head = "| kind | variants | bench | " + " | ".join(f"CLI {m}" for m in modes) + " |"
    lines = [head, "| --- " * (3 + len(modes)) + "|"]
    for label, row in result["rows"].items():
        want = wanted(label)
        what = "events (false positives)" if want is None else \
            "`edited` quoting the change" if want == "edited" else "`removed`"
        lines.append(f"| {label}: {what} | {row['variants']} | {row['bench']} | " +
                     " | ".join(f"{row[m]}" + (f" ({row[m + '_304']} by 304)"
                                               if row.get(m + "_304") else "")
                                for m in modes) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20, help="how many pages (default 20)")
    parser.add_argument("--every", type=int, default=1, help="every Nth page of the corpus")
    parser.add_argument("--start", type=int, default=0, help="first page of the corpus")
    parser.add_argument("--modes", default=",".join(DEFAULT_MODES),
                        help=f"ways of serving, of {', '.join(MODES)}")
    parser.add_argument("--kinds", default="", help="only these kinds (comma-separated)")
    parser.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE",
                        help="another setting for every crawl (repeatable)")
    parser.add_argument("--real-dns", action="store_true",
                        help="resolve other sites' names (slow where there is no network)")
    parser.add_argument("--json", help="write the figures and disagreements here")
    parser.add_argument("--keep", help="keep the archive homes in this directory")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    if unknown := set(modes) - set(MODES):
        parser.error(f"unknown mode(s): {', '.join(sorted(unknown))}")
    pages = list(load()[args.start::args.every][:args.pages])
    labels = [UNCHANGED, *map(str, (*NOISE, *EDITS, *REMOVALS))]
    if args.kinds:
        labels = [label for label in labels if label in args.kinds.split(",")]
    settings = [*CRAWL_SETTINGS, *([] if args.real_dns else OFFLINE_DNS),
                *(arg for item in args.set for arg in ("-s", item))]
    started = time.monotonic()
    cases = prepare(pages)
    print(f"{len(cases)} pages from {len({p.site for p in pages})} sites; bench judged in "
          f"{time.monotonic() - started:.1f} s", flush=True)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="vigil-e2e-"))
    crawls = {}
    try:
        for mode in modes:
            crawls[mode] = run_mode(cases, mode, work, labels, settings)
    finally:
        for case in cases:
            case.site.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    result = tally(cases, modes, labels)
    print(render(result, modes))
    for mode, info in crawls.items():
        if info["first_events"]:
            print(f"{mode}: the first crawl raised {len(info['first_events'])} event(s)")
    print(f"{len(result['disagreements'])} disagreement(s) between the CLI and the bench")
    for d in result["disagreements"]:
        print(f"- [{d['mode']}] {d['kind']}: {d['page']}: bench {d['bench']}"
              f"{' quoted' if d['bench_quoted'] else ''} / CLI {d['cli']}"
              f"{' quoted' if d['cli_quoted'] else ''} {d['asked']}")
        print(f"    bench: {d['bench_summary'][:200]}")
        for line in d["cli_events"]:
            print(f"    cli: {line}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "pages": [c.page.name for c in cases], "modes": modes, "crawls": crawls,
            **result}, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
