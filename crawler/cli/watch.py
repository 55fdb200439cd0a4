"""`vigil schedule`, `watch`, `crawls`, `stats` and `reindex`: unattended recapture."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from archive.reindex import Reindexer
from archive.timeutil import iso_seconds, parse_stored
from crawler.app.home import ConfigError
from crawler.app.maintenance import archive_stats, recover
from crawler.app.runner import SettingError, parse_overrides
from crawler.app.store import Source, SourceNotFound, Store
from crawler.cli.context import Context, emit_json, fail, pass_context
from crawler.crawl.progress import human_bytes
from crawler.scheduling.rules import QuietHours, ScheduleError, cron_trigger, parse_interval


def schedule_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--every / --cron / --jitter / --quiet-hours, shared by `add` and `schedule`."""
    for option in reversed([
        click.option("--every", metavar="INTERVAL",
                     help="Recapture every INTERVAL: 90s, 15m, 6h, 1d (default 1d)."),
        click.option("--cron", metavar="EXPR",
                     help='Recapture on a cron schedule, in UTC: "0 */6 * * *".'),
        click.option("--jitter", metavar="INTERVAL",
                     help="Delay each run by a random time up to INTERVAL."),
        click.option("--quiet-hours", metavar="HH:MM-HH:MM",
                     help="Start no capture in this daily UTC window."),
    ]):
        command = option(command)
    return command


def schedule_columns(every: str | None, cron: str | None, jitter: str | None,
                     quiet_hours: str | None) -> dict[str, Any]:
    """The sources columns the options set; a bad value is a one-line error, exit 2."""
    if every and cron:
        fail("use --every or --cron, not both")
    columns: dict[str, Any] = {}
    try:
        if every:
            columns.update(every_seconds=parse_interval(every), cron=None)
        if cron:
            cron_trigger(cron)
            columns.update(cron=cron.strip(), every_seconds=None)
        if jitter:
            columns["jitter_seconds"] = parse_interval(jitter)
        if quiet_hours:
            columns["quiet_hours"] = str(QuietHours.parse(quiet_hours))
    except ScheduleError as exc:
        fail(str(exc))
    return columns


def source_json(store: Store, source: Source) -> dict[str, Any]:
    last = store.last_capture(source)
    data = source.public()
    data["last_capture"] = iso_seconds(parse_stored(last)) if last else None
    # Imported here: APScheduler and SQLAlchemy cost every other command (a crawl
    # subprocess among them) half a second of start-up.
    from crawler.scheduling.watcher import next_capture

    data["next_capture"] = iso_seconds(next_capture(source, last))
    return data


@click.command()
@click.argument("selector", metavar="URL_OR_NAME")
@schedule_options
@click.option("--json", "as_json", is_flag=True, help="Print the changed sources as JSON.")
@pass_context
def schedule(ctx: Context, selector: str, every: str | None, cron: str | None,
             jitter: str | None, quiet_hours: str | None, as_json: bool) -> None:
    """Change when a source (or every source of a name) is recaptured."""
    columns = schedule_columns(every, cron, jitter, quiet_hours)
    if not columns:
        fail("give --every, --cron, --jitter or --quiet-hours")
    store = ctx.store()
    try:
        changed = [store.set_schedule(s, columns) for s in store.select_sources([selector])]
        shown = [source_json(store, s) for s in changed]
    except SourceNotFound as exc:
        fail(str(exc))
    finally:
        store.close()
    if as_json:
        emit_json(shown)
    else:
        for s in shown:
            when = f"cron {s['cron']}" if s["cron"] else f"every {s['every']}"
            click.echo(f"{s['url']}  {when}, next {s['next_capture']}")


@click.command()
@click.option("--max-parallel", type=click.IntRange(min=1), default=2, show_default=True,
              help="Crawls of different sources running at once.")
@click.option("--grace", type=click.FloatRange(min=0), default=30.0, show_default=True,
              metavar="SECONDS", help="How long crawls in flight may finish after Ctrl-C.")
@click.option("-s", "--set", "overrides", multiple=True, metavar="NAME=VALUE",
              help="Override a Scrapy setting for every crawl (repeatable).")
@pass_context
def watch(ctx: Context, max_parallel: int, grace: float, overrides: tuple[str, ...]) -> None:
    """Recapture every source on its schedule until stopped (Ctrl-C or SIGTERM)."""
    try:
        settings = parse_overrides(overrides)
        ctx.home.config()
    except (SettingError, ConfigError) as exc:
        fail(str(exc))
    ctx.store().close()  # initialise a missing home before the scheduler opens it
    from crawler.scheduling.watcher import Watcher, WatchSettings

    watcher = Watcher(ctx.home, WatchSettings(max_parallel=max_parallel, grace=grace,
                                              overrides=settings))
    raise SystemExit(watcher.run())


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def crawls(ctx: Context, as_json: bool) -> None:
    """List crawls: start, end, status, pages, bytes, failures, new events."""
    store = ctx.store()
    rows = list(store.db.query(
        "SELECT c.*, (SELECT COUNT(*) FROM events e WHERE e.crawl_id = c.id) AS events "
        "FROM crawls c ORDER BY c.id"))
    store.close()
    listed = [{
        "id": r["id"], "status": r["status"], "finish_reason": r["finish_reason"],
        "started_at": iso_seconds(parse_stored(r["started_at"])),
        "ended_at": iso_seconds(parse_stored(r["ended_at"])) if r["ended_at"] else None,
        "sources": json.loads(r["sources"] or "[]"), "pages": r["pages"] or 0,
        "bytes": r["bytes"] or 0, "failures": r["failures"] or 0, "events": r["events"],
        "warcs": json.loads(r["warcs"] or "[]"), "log": r["log"],
    } for r in rows]
    if as_json:
        emit_json(listed)
        return
    for c in listed:
        click.echo(f"#{c['id']} {c['started_at']} → {c['ended_at'] or '…'}  {c['status']:11} "
                   f"{c['pages']} pages, {human_bytes(c['bytes'])}, {c['failures']} failures, "
                   f"{c['events']} events")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def stats(ctx: Context, as_json: bool) -> None:
    """Captures, unique payloads, bytes on disk and bytes saved by deduplication."""
    store = ctx.store()
    figures = archive_stats(ctx.home, store)
    store.close()
    if as_json:
        emit_json(figures.public())
        return
    click.echo(f"captures:        {figures.captures} ({figures.revisits} revisits)\n"
               f"unique payloads: {figures.unique_payloads}\n"
               f"on disk:         {human_bytes(figures.bytes_on_disk)} in "
               f"{figures.warc_files} WARC files\n"
               f"saved by dedup:  {human_bytes(figures.bytes_saved)}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def reindex(ctx: Context, as_json: bool) -> None:
    """Make the index agree with the WARC files: repair, add what is missing, drop what
    points at nothing."""
    store = ctx.store()
    try:
        recovered = recover(ctx.home, store)
        report = Reindexer(store.captures, ctx.home.warc_dir).run()
    finally:
        store.close()
    result = {"repaired": [r.name for r in recovered.repairs], "files": report.files,
              "added": report.added, "removed": report.removed}
    if as_json:
        emit_json(result)
    else:
        click.echo(f"{report.files} WARC files: {report.added} captures added, "
                   f"{report.removed} rows removed, {len(recovered.repairs)} files repaired")
