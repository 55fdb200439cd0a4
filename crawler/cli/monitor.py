"""`vigil changes` and `vigil diff`: what the monitor found, and how a page's text changed."""

from __future__ import annotations

import sys
from typing import Any

import click

from archive.index import CaptureNotFound
from archive.printable import printable
from archive.timeutil import iso_seconds, parse_stored
from crawler.app.store import Store
from crawler.cli.context import (
    EXIT_NOT_FOUND,
    Context,
    emit_json,
    fail,
    option_datetime,
    pass_context,
)
from monitor.changes import ChangeFilter, UnknownFilter, select_events
from monitor.compare import diff_tokens
from monitor.detect import Monitor, source_options
from monitor.events import KINDS
from monitor.extract import Extract, ExtractOptions


@click.command()
@click.option("--since", metavar="DATETIME", help="Only events detected since DATETIME.")
@click.option("--kind", type=click.Choice(KINDS), help="Only events of this kind.")
@click.option("--url", help="Only events about URL (the page, or the cited link).")
@click.option("--source", metavar="URL_OR_NAME", help="Only events of this source.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def changes(ctx: Context, since: str | None, kind: str | None, url: str | None,
            source: str | None, as_json: bool) -> None:
    """Events the monitor raised: edits, removals, moves, dead links, outages."""
    wanted = ChangeFilter(since=option_datetime(since, "--since"), kind=kind, url=url,
                          source=source)
    store = ctx.store()
    try:
        events = select_events(store.db, wanted)
    except UnknownFilter as exc:
        fail(str(exc))
    finally:
        store.close()
    if as_json:
        emit_json([e.public() for e in events])
        return
    if not events:
        click.echo("no changes recorded", err=True)
    for event in events:
        public = event.public()
        click.echo(f"#{event.id} {public['detected_at']}  {event.kind:11} "
                   f"{printable(event.url, newlines=False)}")
        click.echo(f"    {printable(event.summary, newlines=False)}")


def _html_captures(store: Store, url: str) -> list[dict[str, Any]]:
    # A 304 revisit stands for the 2xx payload it refers to.
    key = [c for c in store.captures.history(url) if 200 <= (c.payload_status or c.status) < 300]
    return [{**c.row(), "id": c.id} for c in key]


def _pick(captures: list[dict[str, Any]], at: Any, default: int) -> dict[str, Any]:
    if at is None:
        return captures[default]
    return min(captures, key=lambda c: (abs(parse_stored(c["timestamp"]) - at),
                                        c["timestamp"]))


@click.command()
@click.argument("url")
@click.option("--from", "from_", metavar="DATETIME", help="The older capture (default: the "
              "second latest).")
@click.option("--to", metavar="DATETIME", help="The newer capture (default: the latest).")
@pass_context
def diff(ctx: Context, url: str, from_: str | None, to: str | None) -> None:
    """Word diff of URL's main text between two captures (default: the last two)."""
    start, end = option_datetime(from_, "--from"), option_datetime(to, "--to")
    store = ctx.store()
    try:
        captures = _html_captures(store, url)
        if len(captures) < 2:
            raise CaptureNotFound(f"fewer than two 2xx captures of {url} to compare")
        old, new = _pick(captures, start, -2), _pick(captures, end, -1)
        source = next(store.db.table("sources").rows_where("id = ?", [old["source_id"]]), None)
        options = source_options(source) if source else ExtractOptions()
        monitor = Monitor(store.db, ctx.home.warc_dir)
        before, after = monitor.extract_of(old, options), monitor.extract_of(new, options)
    except CaptureNotFound as exc:
        fail(str(exc), code=EXIT_NOT_FOUND)
    finally:
        store.close()
    click.echo(f"--- {url}  {iso_seconds(parse_stored(old['timestamp']))}")
    click.echo(f"+++ {url}  {iso_seconds(parse_stored(new['timestamp']))}")
    if before is None or after is None:
        same = "the same" if old["digest"] == new["digest"] else "different"
        click.echo(f"(no article text to compare; the payloads are {same})")
        return
    _render(before, after)


def _render(before: Extract, after: Extract) -> None:
    # Coloured on a terminal; git's plain word-diff markers otherwise.
    color = sys.stdout.isatty()
    # Page text never reaches the terminal with its control sequences.
    texts = (printable("title: " + before.title + "\n" + before.text),
             printable("title: " + after.title + "\n" + after.text))
    if texts[0].split() == texts[1].split():
        click.echo("(no change in the main text)")
        return
    out = []
    for op, words in diff_tokens(*texts):
        if op == "=":
            out.append(words)
        elif color:
            out.append(click.style(words, fg="red" if op == "-" else "green",
                                   strikethrough=op == "-"))
        else:
            out.append(f"[-{words}-]" if op == "-" else f"{{+{words}+}}")
    click.echo(" ".join(out).replace(" \n ", "\n").replace("\n ", "\n"), color=color)
