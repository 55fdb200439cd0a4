"""`vigil cite`: a citation of a page as archived."""

from __future__ import annotations

import click

from archive.cite import STYLES
from archive.index import CaptureNotFound
from crawler.app.citing import Citing, citation, removed_note
from crawler.cli.context import (
    EXIT_NOT_FOUND,
    Context,
    check_url,
    fail,
    option_datetime,
    pass_context,
)


@click.command()
@click.argument("url")
@click.option("--at", metavar="DATETIME", help="The capture closest to DATETIME (default: "
              "the latest capture that holds the article).")
@click.option("--style", type=click.Choice(STYLES), default="apa", show_default=True)
@click.option("--server", default="http://127.0.0.1:8080", show_default=True,
              envvar="VIGIL_SERVER", help="Base URL of `vigil serve` for the archived copy "
              "(env: VIGIL_SERVER).")
@pass_context
def cite(ctx: Context, url: str, at: str | None, style: str, server: str) -> None:
    """A citation of URL as archived: its authors, date, title and site as the page states
    them, the capture time, the archived copy and its SHA-256."""
    check_url(url)
    moment = option_datetime(at, "--at")
    store = ctx.store()
    try:
        chosen = Citing(store, ctx.home.warc_dir).choose(url, moment)
    except CaptureNotFound as exc:
        fail(str(exc), code=EXIT_NOT_FOUND)
    finally:
        store.close()
    cited, _ = citation(chosen, server)
    click.echo(cited.render(style))
    note = removed_note(chosen)
    if note:
        click.echo(note)
