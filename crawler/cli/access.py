"""`vigil serve`, `export`, `verify` and `cite`: the archive given back, with proof."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from archive.cite import STYLES, Citation, site_name
from archive.custody import append, check_chain
from archive.export import pages_jsonl, select, write_subset
from archive.index import CaptureNotFound
from archive.reader import read_record
from archive.signing import (
    PUBLIC_KEY,
    ManifestEntry,
    check_manifest,
    file_sha256,
    latest_manifest,
    sign_manifest,
)
from archive.timeutil import digits14
from archive.verify import verify_archive
from crawler import __version__
from crawler.app.store import SourceNotFound
from crawler.cli.context import (
    EXIT_NOT_FOUND,
    Context,
    check_url,
    emit_json,
    fail,
    option_datetime,
    pass_context,
)
from monitor.extract import extract


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True,
              help="Port of the Memento app; replay (pywb) listens on the next one.")
@pass_context
def serve(ctx: Context, host: str, port: int) -> None:
    """Serve Memento TimeMaps, TimeGates and mementos, and replay archived pages."""
    from crawler.web.server import serve as run

    ctx.store().close()
    click.echo(f"vigil: serving {ctx.home.root} at http://{host}:{port}/ (replay on port "
               f"{port + 1}); Ctrl-C to stop", err=True)
    run(ctx.home, host, port)


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
        ids = {s.id for s in store.select_sources(sources)} if sources else None
        chosen = [c for c in store.captures.all()
                  if (ids is None or c.source_id in ids)
                  and (start is None or c.moment >= start) and (end is None or c.moment <= end)]
        if not chosen:
            fail("no captures match", code=EXIT_NOT_FOUND)
        selection = select(store.captures, chosen)
        with tempfile.TemporaryDirectory(prefix="vigil-export-") as work:
            folder = Path(work)
            warc = folder / f"{output.stem}.warc.gz"
            copied = write_subset(selection, ctx.home.warc_dir, warc, {
                "software": f"vigil/{__version__}", "format": "WARC File Format 1.1",
                "description": f"vigil export of {len(selection.captures)} captures"})
            titles = _titles(ctx, selection.captures)
            pages_jsonl(selection.captures, titles, folder / "pages.jsonl")
            proof = folder / "fixity"
            proof.mkdir()
            _proof(ctx, proof, warc, selection)
            command = [sys.executable, "-m", "wacz", "create", "-o", str(output.resolve()),
                       "-p", str(folder / "pages.jsonl"), "-l", str(proof),
                       "--title", f"vigil export from {ctx.home.root.name}", str(warc)]
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0 or not output.exists():
                fail(f"wacz could not package the export: {done.stderr.strip()[-300:]}", 1)
        digest = file_sha256(output)
        append(store.db, "export", {"file": output.name, "sha256": digest,
                                    "captures": len(selection.captures), "records": copied})
    except SourceNotFound as exc:
        fail(str(exc))
    finally:
        store.close()
    click.echo(f"{output}: {len(selection.captures)} captures, sha256 {digest}", err=True)


def _titles(ctx: Context, captures: list[Any]) -> dict[int, str]:
    titles: dict[int, str] = {}
    for capture in captures:
        if capture.found_by in ("seed", "related") and 200 <= capture.status < 300 \
                and not capture.revisit and "html" in (capture.content_type or ""):
            found = extract(read_record(ctx.home.warc_dir, capture.warc, capture.offset)
                            .payload(), capture.url)
            if found is not None and found.title and capture.id is not None:
                titles[capture.id] = found.title
    return titles


def _proof(ctx: Context, folder: Path, warc: Path, selection: Any) -> None:
    """What a third party needs to check the export offline: a manifest of the exported
    WARC file signed with the home's key, its signature and the public key."""
    sources = sorted({c.warc for c in selection.records})
    signed = {e["name"]: e["sha256"] for e in _signed_files(ctx)}
    sign_manifest(folder, ctx.home.key_dir, [ManifestEntry(
        name=warc.name, sha256=file_sha256(warc), size=warc.stat().st_size)], {
        "software": f"vigil/{__version__}", "export": True,
        "copied_from": [{"name": n, "sha256": signed.get(n)} for n in sources]})
    (folder / PUBLIC_KEY).write_bytes((ctx.home.key_dir / PUBLIC_KEY).read_bytes())


def _signed_files(ctx: Context) -> list[dict[str, Any]]:
    manifest = latest_manifest(ctx.home.manifest_dir)
    if manifest is None:
        return []
    files: list[dict[str, Any]] = json.loads(manifest.read_text())["files"]
    return files


@click.command()
@click.option("--manifest", "with_manifest", is_flag=True,
              help="Also check the signatures of every signed manifest.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def verify(ctx: Context, with_manifest: bool, as_json: bool) -> None:
    """Re-read every WARC record and index row; report each mismatch; exit 1 on any."""
    store = ctx.store()
    try:
        problems = [p.__dict__ for p in verify_archive(store.captures, ctx.home.warc_dir)]
        latest = latest_manifest(ctx.home.manifest_dir)
        manifests = sorted(ctx.home.manifest_dir.glob("manifest-*.json")) if with_manifest \
            else [latest] if latest else []
        for manifest in manifests:
            problems += [{"file": p.file or p.manifest, "offset": None, "url": None,
                          "problem": f"{p.manifest}: {p.problem}"}
                         for p in check_manifest(manifest, ctx.home.key_dir / PUBLIC_KEY,
                                                 ctx.home.warc_dir, with_manifest)]
        problems += [{"file": "vigil.db", "offset": None, "url": None,
                      "problem": f"custody log entry {p.entry} {p.problem}"}
                     for p in check_chain(store.db)]
        captures = store.db.execute("SELECT COUNT(*) FROM captures").fetchone()[0]
        append(store.db, "verify", {"problems": len(problems), "captures": captures,
                                    "manifests": len(manifests)})
    finally:
        store.close()
    if as_json:
        emit_json({"ok": not problems, "captures": captures, "problems": problems})
    else:
        for p in problems:
            where = f"{p['file']}" + (f"@{p['offset']}" if p["offset"] is not None else "")
            click.echo(f"{where}  {p['url'] or ''}  {p['problem']}")
        click.echo(f"{captures} captures checked: " + (f"{len(problems)} problem(s)"
                                                        if problems else "all good"), err=True)
    if problems:
        sys.exit(1)


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

