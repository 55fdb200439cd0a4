"""The `vigil` command line: thin click commands over the store, archive and runner."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from archive.index import Capture, CaptureNotFound
from archive.reader import RecordNotFound, read_record
from archive.timeutil import InvalidDatetime, iso_seconds, parse_datetime
from archive.urls import InvalidURL, validate_url
from crawler import __version__
from crawler.app.home import DEFAULT_HOME, ConfigError
from crawler.app.runner import SettingError, parse_overrides, run_crawl
from crawler.app.store import SourceNotFound
from crawler.cli.access import cite, export, serve, verify
from crawler.cli.context import EXIT_NOT_FOUND, Context, check_url, emit_json, fail, pass_context
from crawler.cli.monitor import changes, diff
from crawler.cli.watch import (
    crawls,
    reindex,
    schedule,
    schedule_columns,
    schedule_options,
    source_json,
    stats,
    watch,
)
from crawler.crawl.progress import human_bytes
from monitor.alerts import ChannelConfigError
from monitor.extract import ExtractOptions, InvalidOption


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(file_okay=False, path_type=Path),
              envvar="VIGIL_HOME", default=DEFAULT_HOME, show_default=True,
              help="Archive home directory (env: VIGIL_HOME).")
@click.version_option(__version__, prog_name="vigil")
@click.pass_context
def cli(ctx: click.Context, home: Path) -> None:
    """vigil: archive news sources, what they link and cite, into WARC files."""
    ctx.obj = Context(home)


@cli.command()
@pass_context
def init(ctx: Context) -> None:
    """Create the archive home (database, warcs/, config). Safe to run again."""
    new = ctx.home.create()
    ctx.store().close()
    state = "created" if new else "already exists"
    click.echo(f"vigil home {state}: {ctx.home.root}", err=True)


def _read_url_file(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")
    return [line.split("#", 1)[0].strip() for line in lines
            if line.split("#", 1)[0].strip()]


@cli.command()
@click.argument("urls", nargs=-1)
@click.option("--name", help="Name for the source(s); default: the host.")
@click.option("--depth", type=click.IntRange(min=0),
              help="How many hops of related articles to follow (default 1).")
@click.option("--ignore-robots/--obey-robots", "ignore_robots", default=None,
              help="Ignore robots.txt for this source (default: obey).")
@click.option("--from-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Read URLs from FILE, one per line; # starts a comment.")
@click.option("--include-selector", "include", multiple=True, metavar="CSS",
              help="Compare only the parts matching this CSS selector (repeatable).")
@click.option("--remove-selector", "remove", multiple=True, metavar="CSS",
              help="Drop the parts matching this CSS selector before comparing (repeatable).")
@click.option("--ignore-text", "ignore", multiple=True, metavar="REGEX",
              help="Ignore text matching this regex when comparing (repeatable).")
@click.option("--min-change", type=click.FloatRange(0, 1), metavar="FRACTION",
              help="Fraction of the words that must change to count as an edit (default 0).")
@schedule_options
@click.option("--json", "as_json", is_flag=True, help="Print the sources as JSON.")
@pass_context
def add(ctx: Context, urls: tuple[str, ...], name: str | None, depth: int | None,
        ignore_robots: bool | None, from_file: Path | None, include: tuple[str, ...],
        remove: tuple[str, ...], ignore: tuple[str, ...], min_change: float | None,
        every: str | None, cron: str | None, jitter: str | None, quiet_hours: str | None,
        as_json: bool) -> None:
    """Register source URLs; re-adding a URL updates it."""
    candidates = list(urls) + (_read_url_file(from_file) if from_file else [])
    if not candidates:
        fail("no URL given (pass URLs or --from-file FILE)")
    try:
        checked = [validate_url(u) for u in candidates]
        ExtractOptions(include=include, remove=remove, ignore=ignore).validate()
    except (InvalidURL, InvalidOption) as exc:
        fail(str(exc))  # nothing has been written yet
    monitor_options: dict[str, Any] = {k: v for k, v in (("include_selectors", include),
                                         ("remove_selectors", remove),
                                         ("ignore_patterns", ignore)) if v}
    if min_change is not None:
        monitor_options["min_change"] = min_change
    timing = schedule_columns(every, cron, jitter, quiet_hours)
    store = ctx.store()
    added = [store.upsert_source(u, name=name, depth=depth, ignore_robots=ignore_robots,
                                 monitor=monitor_options, schedule=timing) for u in checked]
    shown = [source_json(store, s) for s in added]
    store.close()
    if as_json:
        emit_json(shown)
    else:
        for s in added:
            click.echo(f"{s.url}  name={s.name} depth={s.depth}"
                       f"{' ignore-robots' if s.ignore_robots else ''}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def sources(ctx: Context, as_json: bool) -> None:
    """List registered sources."""
    store = ctx.store()
    rows = store.sources()
    shown = [source_json(store, s) for s in rows]
    store.close()
    if as_json:
        emit_json(shown)
        return
    if not rows:
        click.echo("no sources yet: vigil add URL", err=True)
    for s in shown:
        robots = " ignore-robots" if s["ignore_robots"] else ""
        when = f"cron {s['cron']!r}" if s["cron"] else f"every {s['every']}"
        click.echo(f"{s['url']}  name={s['name']} depth={s['depth']}{robots} {when}, "
                   f"next {s['next_capture']}")


@cli.command()
@click.argument("selectors", nargs=-1, metavar="[URL_OR_NAME]...")
@click.option("-s", "--set", "overrides", multiple=True, metavar="NAME=VALUE",
              help="Override a Scrapy setting for this run (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_context
def crawl(ctx: Context, selectors: tuple[str, ...], overrides: tuple[str, ...],
          as_json: bool) -> None:
    """Capture all sources (or those named) now, in one run."""
    try:
        settings = parse_overrides(overrides)
    except SettingError as exc:
        fail(str(exc))
    store = ctx.store()
    try:
        chosen = store.select_sources(selectors) if selectors else store.sources()
    except SourceNotFound as exc:
        fail(str(exc))
    if not chosen:
        fail("no sources to crawl: add one with `vigil add URL`")
    try:
        summary = run_crawl(ctx.home, store, chosen, settings, progress=True)
    except (ConfigError, ChannelConfigError) as exc:
        fail(str(exc))
    finally:
        store.close()
    if as_json:
        emit_json(summary.public())
    else:
        click.echo(_summary_text(summary.public()))
    if summary.status != "finished":
        fail(f"crawl {summary.crawl_id} did not finish cleanly ({summary.finish_reason})",
             code=1)


def _summary_text(s: dict[str, Any]) -> str:
    events = s["events"]
    tail = [f"  changes: {len(events)} new event(s)"] + [
        f"    {e['kind']}: {e['summary']}" for e in events]
    if s["alerts_sent"] or s["alerts_failed"]:
        tail.append(f"  alerts: {s['alerts_sent']} sent, {s['alerts_failed']} failed "
                    "(retried next run)")
    return _capture_text(s) + "\n" + "\n".join(tail)


def _capture_text(s: dict[str, Any]) -> str:
    kinds = ", ".join(f"{v} {k}" for k, v in sorted(s["found_by"].items()))
    lines = [
        f"crawl {s['crawl_id']} {s['status']}: {len(s['sources'])} source(s)",
        f"  pages captured: {s['pages']} ({kinds})" if kinds else
        f"  pages captured: {s['pages']}",
        f"  bytes: {human_bytes(s['bytes'])} fetched, {human_bytes(s['warc_bytes'])} written",
        f"  failures: {s['failures']} failed fetches, {s['http_errors']} HTTP errors archived",
        f"  WARC files: {len(s['warcs'])}",
    ]
    lines += [f"    {w}" for w in s["warcs"]]
    return "\n".join(lines)


def _capture_json(c: Capture) -> dict[str, Any]:
    return {
        "timestamp": iso_seconds(c.moment),
        "datetime": c.timestamp,
        "url": c.url,
        "status": c.status,
        "content_type": c.content_type,
        "digest": c.digest,
        "size": c.size,
        "warc": f"warcs/{c.warc}",
        "offset": c.offset,
        "length": c.length,
        "revisit": c.revisit,
        "truncated": c.truncated,
        "found_by": c.found_by,
        "referrer": c.referrer,
        "crawl_id": c.crawl_id,
    }


@cli.command()
@click.argument("url")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def history(ctx: Context, url: str, as_json: bool) -> None:
    """Every capture of URL, oldest first, redirects and errors included."""
    check_url(url)
    store = ctx.store()
    captures = store.captures.history(url)
    failures = store.failures(url)
    store.close()
    if as_json:
        emit_json([_capture_json(c) for c in captures])
        return
    if not captures and not failures:
        click.echo(f"no captures of {url}", err=True)
    for c in captures:
        kind = "revisit" if c.revisit else (c.content_type or "").split(";")[0]
        click.echo(f"{iso_seconds(c.moment)}  {c.status}  {kind:24} {human_bytes(c.size):>9}  "
                   f"{c.digest[:19]}…  warcs/{c.warc}@{c.offset}")
    for f in failures:
        click.echo(f"{f['timestamp'][:19]}Z  failed: {f['error']}: {f['message']}")


@cli.command()
@click.argument("url")
@click.option("--at", "at", metavar="DATETIME",
              help="ISO 8601, YYYY-MM-DD or YYYYMMDDhhmmss; default: the latest.")
@click.option("--any-status", is_flag=True, help="Consider redirects and errors too.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to FILE instead of stdout.")
@pass_context
def get(ctx: Context, url: str, at: str | None, any_status: bool, output: Path | None) -> None:
    """Write the archived payload of URL closest to DATETIME, decoded."""
    check_url(url)
    try:
        moment = parse_datetime(at) if at else None
    except InvalidDatetime as exc:
        fail(str(exc))
    store = ctx.store()
    try:
        capture = store.captures.closest(url, moment, any_status=any_status)
        # A revisit serves the payload of the capture it refers to.
        holder = store.captures.original(capture)
    except CaptureNotFound as exc:
        fail(str(exc), code=EXIT_NOT_FOUND)
    finally:
        store.close()
    if holder.revisit:
        fail(f"the capture of {iso_seconds(capture.moment)} is a revisit of a record that is "
             "not in this archive", code=EXIT_NOT_FOUND)
    try:
        payload = read_record(ctx.home.warc_dir, holder.warc, holder.offset).payload()
    except RecordNotFound as exc:
        fail(str(exc), code=EXIT_NOT_FOUND)
    click.echo(f"capture of {iso_seconds(capture.moment)}, status {capture.status}", err=True)
    if output:
        output.write_bytes(payload)
    else:
        sys.stdout.buffer.write(payload)
        sys.stdout.buffer.flush()


@cli.command()
@click.option("--no-crawl", is_flag=True, help="Only serve the replica site until Ctrl-C.")
@pass_context
def demo(ctx: Context, no_crawl: bool) -> None:
    """Capture the bundled replica news site, offline, into the home."""
    from crawler.demo.run import run_demo

    run_demo(ctx.home, ctx.store, serve_only=no_crawl)


for command in (changes, diff, schedule, watch, crawls, stats, reindex, serve, export, verify,
                cite):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="vigil")


if __name__ == "__main__":
    main()
