"""`vigil export` and `verify`: packages and proof for a third party."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from crawler.app.evidence import NothingToExport, PackagingError, export_wacz, verify_home
from crawler.app.store import SourceNotFound
from crawler.cli.context import (
    EXIT_NOT_FOUND,
    Context,
    emit_json,
    fail,
    option_datetime,
    pass_context,
)


@click.command()
@click.option("--wacz", "output", required=True, type=click.Path(dir_okay=False,
              path_type=Path), help="The WACZ file to write.")
@click.option("--source", "sources", multiple=True, metavar="URL_OR_NAME",
              help="Only captures made for this source (repeatable).")
@click.option("--since", metavar="DATETIME", help="Only captures from DATETIME on.")
@click.option("--until", metavar="DATETIME", help="Only captures up to DATETIME.")
@pass_context
def export(ctx: Context, output: Path, sources: tuple[str, ...], since: str | None,
           until: str | None) -> None:
    """Package captures as WACZ with pages, CDXJ, the signed manifest and the public key."""
    start, end = option_datetime(since, "--since"), option_datetime(until, "--until")
    store = ctx.store()
    try:
        result = export_wacz(ctx.home, store, output, sources, start, end)
    except SourceNotFound as exc:
        fail(str(exc))
    except NothingToExport as exc:
        fail(str(exc), code=EXIT_NOT_FOUND)
    except PackagingError as exc:
        fail(str(exc), code=1)
    finally:
        store.close()
    click.echo(f"{output}: {result.captures} captures, sha256 {result.sha256}", err=True)


@click.command()
@click.option("--manifest", "with_manifest", is_flag=True,
              help="Also check the signatures of every signed manifest.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def verify(ctx: Context, with_manifest: bool, as_json: bool) -> None:
    """Re-read every WARC record and index row; report each mismatch; exit 1 on any."""
    store = ctx.store()
    try:
        report = verify_home(ctx.home, store, all_manifests=with_manifest)
    finally:
        store.close()
    if as_json:
        emit_json({"ok": report.ok, "captures": report.captures, "problems": report.problems})
    else:
        for p in report.problems:
            where = f"{p['file']}" + (f"@{p['offset']}" if p["offset"] is not None else "")
            click.echo(f"{where}  {p['url'] or ''}  {p['problem']}")
        click.echo(f"{report.captures} captures checked: " + (
            f"{len(report.problems)} problem(s)" if report.problems else "all good"), err=True)
    if report.problems:
        sys.exit(1)
