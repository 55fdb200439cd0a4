"""BENCHMARKS.md from a results file: each figure beside its bar."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _m(figure: dict[str, Any], unit: str = "", digits: int = 0) -> str:
    fmt = f"{{:.{digits}f}}"
    return (f"{fmt.format(figure['median'])}{unit} (min {fmt.format(figure['min'])}, "
            f"max {fmt.format(figure['max'])})")


def _verdict(ok: bool) -> str:
    return "meets the bar" if ok else "**below the bar**"


def write_report(result: dict[str, Any], path: Path) -> None:
    f = result["figures"]
    cap = f["capture"]
    ratio, wget = cap["vigil_vs_bare_scrapy"], cap["vigil_vs_wget"]
    rows = [
        ("nginx ceiling (wrk, one page, 32 connections)",
         f"{f['server_ceiling_requests_per_s']:.0f} requests/s", "—", "—"),
        ("capture pages/s: wget -r --warc-file", _m(cap["wget_pages_per_s"], "/s"), "—", "—"),
        ("capture pages/s: bare Scrapy spider (writes nothing)",
         _m(cap["bare_scrapy_pages_per_s"], "/s"), "—", "—"),
        ("capture pages/s: vigil crawl, politeness off", _m(cap["vigil_pages_per_s"], "/s"),
         "—", "—"),
        ("vigil ÷ bare Scrapy, same run", _m(ratio, "×", 2), "≥ 0.8×",
         _verdict(ratio["median"] >= 0.8)),
        ("vigil ÷ wget, same run", _m(wget, "×", 2), "≥ 0.2× (aim 1×)",
         _verdict(wget["median"] >= 0.2)),
        ("CPU per captured page (capture + index + comparison)",
         _m(cap["cpu_ms_per_page"], " ms", 1), "≤ 5 ms",
         _verdict(cap["cpu_ms_per_page"]["median"] <= 5)),
        (f"peak RSS at {cap['pages']} pages", _m(cap["peak_rss_mb"], " MB"), "≤ 300 MB",
         _verdict(cap["peak_rss_mb"]["median"] <= 300)),
    ]
    if "peak_rss_mb_large" in f:
        large = f["peak_rss_mb_large"]
        growth = large["median"] / cap["peak_rss_mb"]["median"]
        rows.append((f"peak RSS at {large['pages']} pages", _m(large, " MB"),
                     "≤ 300 MB, ≤ 1.2× the 2k figure",
                     _verdict(large["median"] <= 300 and growth <= 1.2)))
    else:
        rows.append(("peak RSS at 20,000 pages", "not measured in this run "
                     "(`BENCH_LARGE_PAGES=20000 make bench`)", "≤ 300 MB, ≤ 1.2×", "—"))
    monitor, lookup, dedup = (f["monitor_pairs_per_s_one_core"], f["lookup_p95_ms_1m_captures"],
                              f["dedup"])
    rows += [
        ("monitor: page pairs compared per second (extract + diff), one core",
         _m(monitor, "/s"), "≥ 500", _verdict(monitor["median"] >= 500)),
        (f"`get --at`/TimeGate lookup p95, {lookup['captures']:,} captures, in-process",
         _m(lookup, " ms", 3), "≤ 10 ms", _verdict(lookup["median"] <= 10)),
        (f"bytes on disk after 10 recaptures ÷ after the first ({dedup['pages']} pages)",
         f"{dedup['disk_ratio_after_10_recaptures']:.3f}", "≤ 1.1",
         _verdict(dedup["disk_ratio_after_10_recaptures"] <= 1.1)),
        ("bytes fetched per recapture with conditional requests ÷ first capture",
         _m(dedup["fetched_ratio_per_recapture"], "", 3), "report", "—"),
    ]
    v = result["versions"]
    lines = [
        "# Benchmarks", "",
        f"Measured {result['when']} on {v['machine']}; Python {v['python']}, Scrapy "
        f"{v['scrapy']}, {v['wget']}, {v['nginx']}. Reproduce with `{result['command']}` "
        f"(results in `bench/results/`). Each figure is the median of {result['runs']} runs "
        "with min and max; ratios are taken within each run, over the same "
        f"{cap['pages']}-page site (30–80 KB articles, a shared stylesheet and a 200 KB "
        "image, links in the body and a related block) served by nginx on loopback.", "",
        "| figure | measured | bar | |", "| --- | --- | --- | --- |",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows], "",
        "What each side does per page: wget writes a WARC and follows every link; the bare "
        "Scrapy spider parses links once with lxml, drops seen URLs before queuing and "
        "writes nothing; vigil writes request and response records (gzip, SHA-256 digests), "
        "indexes them in SQLite, classifies links (main content, related blocks, "
        "requisites) and runs the change monitor after the crawl.", "",
    ]
    path.write_text("\n".join(lines))
