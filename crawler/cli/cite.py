"""`vigil cite`: a citation of a page as archived."""

from __future__ import annotations

import click

from archive.cite import STYLES, Citation, site_name
from archive.index import CaptureNotFound
from archive.reader import read_record
from archive.timeutil import digits14
from crawler.cli.context import (
    EXIT_NOT_FOUND,
    Context,
    check_url,
    fail,
    option_datetime,
    pass_context,
)
from monitor.extract import extract


@click.command()
@click.argument("url")
@click.option("--at", metavar="DATETIME", help="The capture closest to DATETIME (default: "
              "the latest).")
@click.option("--style", type=click.Choice(STYLES), default="apa", show_default=True)
@click.option("--server", default="http://127.0.0.1:8080", show_default=True,
              envvar="VIGIL_SERVER", help="Base URL of `vigil serve` for the archived copy "
              "(env: VIGIL_SERVER).")
@pass_context
def cite(ctx: Context, url: str, at: str | None, style: str, server: str) -> None:
    """A citation of URL as archived: original, title, capture time, copy, SHA-256."""
    check_url(url)
    moment = option_datetime(at, "--at")
    store = ctx.store()
    try:
        capture = store.captures.closest(url, moment)
        holder = store.captures.original(capture)
    except CaptureNotFound as exc:
        fail(str(exc), code=EXIT_NOT_FOUND)
    finally:
        store.close()
    payload = read_record(ctx.home.warc_dir, holder.warc, holder.offset).payload()
    found = extract(payload, url) if "html" in (holder.content_type or "") else None
    title = found.title if found and found.title else url
    original = capture.target_uri or url
    archived = f"{server.rstrip('/')}/web/{digits14(capture.moment)}/{original}"
    citation = Citation(url=original, title=title, site=site_name(original),
                        captured=capture.moment, archived_url=archived,
                        sha256=capture.digest.removeprefix("sha256:"))
    click.echo(citation.render(style))
