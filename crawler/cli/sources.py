"""`vigil init`, `add`, `sources` and `schedule`: the sources an archive keeps, and when."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from archive.printable import printable
from archive.timeutil import iso_seconds, parse_stored
from archive.urls import InvalidURL, validate_url
from crawler.app.store import Source, SourceNotFound, Store
from crawler.cli.context import Context, emit_json, fail, pass_context
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


def sources_json(store: Store, sources: list[Source]) -> list[dict[str, Any]]:
    """Each source as `--json` prints it, with its last capture and failures looked up for
    all of them at once."""
    lasts = store.last_captures(sources)
    failures = store.failures_of(s.url for s in sources)
    return [source_json(s, lasts.get(s.id), failures[s.url]) for s in sources]


def source_json(source: Source, last: str | None,
                failures: list[dict[str, Any]]) -> dict[str, Any]:
    data = source.public()
    data["last_capture"] = iso_seconds(parse_stored(last)) if last else None
    # Fetches of the source's URL that failed since it was last captured (or ever).
    failing = [f for f in failures if last is None or f["timestamp"] > last]
    data["failing_since"] = iso_seconds(parse_stored(failing[0]["timestamp"])) if failing \
        else None
    data["last_failure"] = f"{failing[-1]['error']}: {failing[-1]['message']}" if failing \
        else None
    data["next_capture"] = iso_seconds(source.next_capture(last))
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
        shown = sources_json(store, changed)
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


@click.command()
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
@click.option("--browser", type=click.Choice(["auto", "always", "never"]), default=None,
              help="Render pages in Chromium: auto (when the HTML is rendered by script; "
                   "the default), always, never.")
@schedule_options
@click.option("--json", "as_json", is_flag=True, help="Print the sources as JSON.")
@pass_context
def add(ctx: Context, urls: tuple[str, ...], name: str | None, depth: int | None,
        ignore_robots: bool | None, from_file: Path | None, include: tuple[str, ...],
        remove: tuple[str, ...], ignore: tuple[str, ...], min_change: float | None,
        browser: str | None, every: str | None, cron: str | None, jitter: str | None,
        quiet_hours: str | None, as_json: bool) -> None:
    """Register source URLs; re-adding a URL updates it."""
    candidates = list(urls) + (_read_url_file(from_file) if from_file else [])
    if not candidates:
        fail("no URL given (pass URLs or --from-file FILE)")
    # Imported here: the reader's modules (lxml, its patterns) only `add` needs.
    from monitor.extract import ExtractOptions, InvalidOption

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
                                 monitor=monitor_options, schedule=timing, browser=browser)
             for u in checked]
    shown = sources_json(store, added)
    store.close()
    if as_json:
        emit_json(shown)
    else:
        for s in added:
            click.echo(f"{s.url}  name={s.name} depth={s.depth}"
                       f"{' ignore-robots' if s.ignore_robots else ''}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def sources(ctx: Context, as_json: bool) -> None:
    """List registered sources."""
    store = ctx.store()
    rows = store.sources()
    shown = sources_json(store, rows)
    store.close()
    if as_json:
        emit_json(shown)
        return
    if not rows:
        click.echo("no sources yet: vigil add URL", err=True)
    for s in shown:
        robots = " ignore-robots" if s["ignore_robots"] else ""
        when = f"cron {s['cron']!r}" if s["cron"] else f"every {s['every']}"
        state = ""
        if s["failing_since"]:
            state = f", failing since {s['failing_since']} " \
                f"({printable(s['last_failure'], newlines=False)})"
        elif s["last_capture"] is None:
            state = ", never captured"
        click.echo(f"{s['url']}  name={s['name']} depth={s['depth']}{robots} {when}, "
                   f"next {s['next_capture']}{state}")
