"""`vigil watch`, `crawls`, `stats` and `reindex`: unattended recapture and upkeep."""

from __future__ import annotations

import json

import click

from archive.reindex import Reindexer
from archive.timeutil import iso_seconds, parse_stored
from crawler.app.home import ConfigError
from crawler.app.maintenance import archive_stats, recover
from crawler.app.runner import SettingError, parse_overrides
from crawler.cli.context import Context, emit_json, fail, pass_context
from crawler.crawl.progress import human_bytes


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
