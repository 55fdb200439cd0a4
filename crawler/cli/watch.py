"""`vigil watch`, `crawls`, `stats` and `reindex`: unattended recapture and upkeep."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from archive.reindex import Reindexer
from archive.timeutil import iso_seconds, parse_stored
from crawler.app.home import ConfigError
from crawler.app.maintenance import archive_stats, recover
from crawler.app.runner import SettingError, parse_overrides
from crawler.cli.context import Context, emit_json, fail, pass_context
from crawler.crawl.progress import human_bytes
from crawler.scheduling.batches import DEFAULT_BATCH_SIZE, DEFAULT_BATCH_WINDOW


@click.command()
@click.option("--max-parallel", type=click.IntRange(min=1), default=None,
              help="Crawl processes running at once (default 2, or [watch] max_parallel).")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help=f"Due sources crawled by one process, at most (default "
                   f"{DEFAULT_BATCH_SIZE}, or [watch] batch_size).")
@click.option("--batch-window", type=click.FloatRange(min=0), default=None,
              metavar="SECONDS",
              help=f"How long due sources are gathered into a batch before it starts "
                   f"(default {DEFAULT_BATCH_WINDOW:g}, or [watch] batch_window).")
@click.option("--grace", type=click.FloatRange(min=0), default=30.0, show_default=True,
              metavar="SECONDS", help="How long crawls in flight may finish after Ctrl-C.")
@click.option("-s", "--set", "overrides", multiple=True, metavar="NAME=VALUE",
              help="Override a Scrapy setting for every crawl (repeatable).")
@pass_context
def watch(ctx: Context, max_parallel: int | None, batch_size: int | None,
          batch_window: float | None, grace: float, overrides: tuple[str, ...]) -> None:
    """Recapture every source on its schedule until stopped (Ctrl-C or SIGTERM)."""
    try:
        settings = parse_overrides(overrides)
        configured = _watch_config(ctx.home.config(), ctx.home.config_path)
    except (SettingError, ConfigError) as exc:
        fail(str(exc))
    ctx.store().close()  # initialise a missing home before the scheduler opens it
    from crawler.scheduling.watcher import Watcher, WatchSettings

    chosen = {"max_parallel": max_parallel, "batch_size": batch_size,
              "batch_window": batch_window}
    watcher = Watcher(ctx.home, WatchSettings(
        grace=grace, overrides=settings,
        **{**configured, **{k: v for k, v in chosen.items() if v is not None}}))
    raise SystemExit(watcher.run())


# [watch] keys of vigil.toml: the type each takes and its least value.
_WATCH_KEYS: dict[str, tuple[type, float]] = {
    "max_parallel": (int, 1), "batch_size": (int, 1), "batch_window": (float, 0),
    "retry_after": (float, 0)}


def _watch_config(config: dict[str, Any], path: Path) -> dict[str, Any]:
    table = config.get("watch", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [watch] must be a table")
    chosen: dict[str, Any] = {}
    for key, value in table.items():
        if key not in _WATCH_KEYS:
            raise ConfigError(f"{path}: [watch] has no key {key!r} (known: "
                              f"{', '.join(_WATCH_KEYS)})")
        kind, least = _WATCH_KEYS[key]
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or (kind is int and not isinstance(value, int)) or value < least:
            what = "an integer" if kind is int else "a number"
            raise ConfigError(f"{path}: [watch] {key} must be {what} of at least {least:g}")
        chosen[key] = kind(value)
    return chosen


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
