"""`vigil export`, `verify` and `keys`: signed packages, their checks, the keys to pin."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from archive.timestamping import TimestampError
from crawler.app.evidence import (
    NothingToExport,
    PackagingError,
    export_wacz,
    verify_home,
    verify_wacz,
)
from crawler.app.keys import public_keys
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
    """Package captures as a signed WACZ: pages, CDXJ, the crawls' warcinfo records,
    signedData per the WACZ signing spec, an Ed25519 signature and, with [evidence]
    tsa_url in vigil.toml, a trusted timestamp."""
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
    click.echo(f"{output}: {result.captures} captures, sha256 {result.sha256}"
               + (", timestamped" if result.timestamped else ""), err=True)


@click.command()
@click.option("--trust", metavar="FINGERPRINT",
              help="Fail unless the signing key has this fingerprint (SHA256:…, as "
                   "`vigil keys` prints it, obtained out of band).")
@click.option("--wacz", "package", type=click.Path(exists=True, dir_okay=False,
              path_type=Path), help="Check this WACZ package alone, as its recipient.")
@click.option("--tsa-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="With --wacz: the TSA's certificate (PEM) to check its timestamp.")
@click.option("--manifest", "with_manifest", is_flag=True, hidden=True,
              help="Kept for compatibility: every manifest is always checked.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def verify(ctx: Context, trust: str | None, package: Path | None, tsa_cert: Path | None,
           with_manifest: bool, as_json: bool) -> None:
    """Re-read every WARC record and index row, check every signed manifest, the files
    they list, the custody chain and the key; report each problem; exit 1 on any."""
    del with_manifest  # the default now
    if package is not None:
        _verify_package(package, trust, tsa_cert, as_json)
        return
    store = ctx.store()
    try:
        report = verify_home(ctx.home, store, trust=trust)
    finally:
        store.close()
    if as_json:
        emit_json({"ok": report.ok, "captures": report.captures,
                   "manifests": report.manifests, "fingerprint": report.fingerprint,
                   "trusted": report.pinned, "problems": report.problems,
                   "timestamps": [t.__dict__ for t in report.timestamps]})
    else:
        for p in report.problems:
            where = f"{p['file']}" + (f"@{p['offset']}" if p["offset"] is not None else "")
            click.echo(f"{where}  {p['url'] or ''}  {p['problem']}")
        for stamp in report.timestamps:
            if stamp.time:
                click.echo(f"{stamp.manifest}: timestamped {stamp.time} by the TSA" + (
                    "" if stamp.checked else " (not checked: no [evidence] tsa_cert)"),
                    err=True)
        key = f"key {report.fingerprint or 'none'}" + ("" if report.pinned else
                                             " (not pinned: pass --trust)")
        click.echo(f"{report.captures} captures, {report.manifests} signed manifests, {key}: "
                   + (f"{len(report.problems)} problem(s)" if report.problems
                      else "all good"), err=True)
    if report.problems:
        sys.exit(1)


def _verify_package(package: Path, trust: str | None, tsa_cert: Path | None,
                    as_json: bool) -> None:
    try:
        report = verify_wacz(package, trust, tsa_cert)
    except TimestampError as exc:
        fail(str(exc))
    when = _iso(report.timestamp) if report.timestamp else None
    sources = {name: _iso(at) for name, at in report.source_timestamps.items()}
    if as_json:
        emit_json({"ok": report.ok, "fingerprint": report.fingerprint,
                   "trusted": bool(trust), "created": report.created, "timestamp": when,
                   "timestamp_checked": report.timestamp_checked, "files": report.files,
                   "source_timestamps": sources, "problems": report.problems})
    else:
        for problem in report.problems:
            click.echo(problem)
        unchecked = "" if report.timestamp_checked else " (not checked: pass --tsa-cert)"
        if when:
            click.echo(f"timestamped {when} by the TSA{unchecked}", err=True)
        for name, at in sources.items():
            click.echo(f"{name}: the archive's manifest, timestamped {at} by the TSA"
                       f"{unchecked}", err=True)
        pinned = "" if trust else " (not pinned: pass --trust)"
        click.echo(f"{package.name}: {report.files} files, signed by "
                   f"{report.fingerprint or 'no key'}{pinned}: "
                   + (f"{len(report.problems)} problem(s)" if report.problems
                      else "all good"), err=True)
    if report.problems:
        sys.exit(1)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def keys(ctx: Context, as_json: bool) -> None:
    """Print the archive's public keys and their fingerprints, to publish out of band:
    recipients pin one with `vigil verify --trust`."""
    ctx.home.create()
    found = public_keys(ctx.home)
    if as_json:
        emit_json({"fingerprint": found[0].fingerprint, "public_key": found[0].openssh,
                   "wacz_fingerprint": found[1].fingerprint, "wacz_public_key": found[1].openssh,
                   "keys": [k.as_dict() for k in found]})
        return
    for key in found:
        click.echo(f"{key.fingerprint} {key.algorithm} ({key.use})")
        click.echo(key.openssh)
        click.echo(key.pem.rstrip())
