"""`vigil crawl`, `history`, `get` and `demo`: capturing sources and reading captures back."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import click

from archive.index import Capture, CaptureNotFound
from archive.payload import DecodeCapExceeded
from archive.printable import printable
from archive.reader import RecordNotFound, stream_payload
from archive.resources import screenshot_uri
from archive.timeutil import InvalidDatetime, iso_seconds, parse_datetime, parse_stored
from crawler.app.home import ConfigError
from crawler.app.runner import SettingError, parse_overrides, run_crawl
from crawler.app.store import SourceNotFound
from crawler.cli.context import EXIT_NOT_FOUND, Context, check_url, emit_json, fail, pass_context
from crawler.crawl.progress import human_bytes
from monitor.alerts import ChannelConfigError


@click.command()
@click.argument("selectors", nargs=-1, metavar="[URL_OR_NAME]...")
@click.option("-s", "--set", "overrides", multiple=True, metavar="NAME=VALUE",
              help="Override a Scrapy setting for this run (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_context
def crawl(ctx: Context, selectors: tuple[str, ...], overrides: tuple[str, ...],
          as_json: bool) -> None:
    """Capture all sources (or those named) now, in one run."""
    try:
        settings = parse_overrides(overrides)
    except SettingError as exc:
        fail(str(exc))
    store = ctx.store()
    try:
        chosen = store.select_sources(selectors) if selectors else store.sources()
    except SourceNotFound as exc:
        fail(str(exc))
    if not chosen:
        fail("no sources to crawl: add one with `vigil add URL`")
    try:
        summary = run_crawl(ctx.home, store, chosen, settings, progress=True)
    except (ConfigError, ChannelConfigError) as exc:
        fail(str(exc))
    finally:
        store.close()
    if as_json:
        emit_json(summary.public())
    else:
        click.echo(_summary_text(summary.public()))
    if summary.status != "finished":
        why = summary.error or summary.finish_reason
        fail(f"crawl {summary.crawl_id} did not finish cleanly ({why})", code=1)


def _summary_text(s: dict[str, Any]) -> str:
    events = s["events"]
    tail = [f"  changes: {len(events)} new event(s)"] + [
        f"    {e['kind']}: {e['summary']}" for e in events]
    tail.append(f"  read as visible text (no article found): {s['read_as_visible_text']} "
                "capture(s)")
    if s["alerts_sent"] or s["alerts_failed"]:
        tail.append(f"  alerts: {s['alerts_sent']} sent, {s['alerts_failed']} failed "
                    "(retried next run)")
    return _capture_text(s) + "\n" + "\n".join(tail)


def _capture_text(s: dict[str, Any]) -> str:
    kinds = ", ".join(f"{v} {k}" for k, v in sorted(s["found_by"].items()))
    lines = [
        f"crawl {s['crawl_id']} {s['status']}: {len(s['sources'])} source(s)",
        f"  pages captured: {s['pages']} ({kinds})" if kinds else
        f"  pages captured: {s['pages']}",
        f"  bytes: {human_bytes(s['bytes'])} fetched, {human_bytes(s['warc_bytes'])} written",
        f"  failures: {s['failures']} failed fetches, {s['http_errors']} HTTP errors archived",
        f"  WARC files: {len(s['warcs'])}",
    ]
    lines += [f"    {w}" for w in s["warcs"]]
    return "\n".join(lines)


def _capture_json(c: Capture) -> dict[str, Any]:
    return {
        "timestamp": iso_seconds(c.moment),
        "datetime": c.timestamp,
        "url": c.url,
        "status": c.status,
        "content_type": c.content_type,
        "digest": c.digest,
        "size": c.size,
        "warc": f"warcs/{c.warc}",
        "offset": c.offset,
        "length": c.length,
        "revisit": c.revisit,
        "truncated": c.truncated,
        "found_by": c.found_by,
        "referrer": c.referrer,
        "crawl_id": c.crawl_id,
        "failed": False,
    }


def _failure_json(f: dict[str, Any]) -> dict[str, Any]:
    """A fetch that ended in no response: what `history` prints, for a script."""
    return {
        "timestamp": iso_seconds(parse_stored(f["timestamp"])),
        "datetime": f["timestamp"],
        "url": f["url"],
        "failed": True,
        "error": f["error"],
        "reason": f["message"],
        "found_by": f.get("found_by"),
        "referrer": f.get("referrer"),
        "crawl_id": f.get("crawl_id"),
    }


@click.command()
@click.argument("url")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def history(ctx: Context, url: str, as_json: bool) -> None:
    """Every capture of URL, oldest first, redirects and errors included, and the fetches
    that failed (in JSON with "failed": true and the reason)."""
    check_url(url)
    store = ctx.store()
    captures = store.captures.history(url)
    # Failures are filed under the URL as asked, or the one its captures answer for.
    failures = store.failures(captures[0].url if captures else url)
    store.close()
    if as_json:
        listed = [_capture_json(c) for c in captures] + [_failure_json(f) for f in failures]
        emit_json(sorted(listed, key=lambda e: str(e["datetime"])))
        return
    if not captures and not failures:
        click.echo(f"no captures of {url}", err=True)
    for c in captures:
        kind = "revisit" if c.revisit else (c.content_type or "").split(";")[0]
        click.echo(f"{iso_seconds(c.moment)}  {c.status}  {kind:24} {human_bytes(c.size):>9}  "
                   f"{c.digest[:19]}…  warcs/{c.warc}@{c.offset}")
    for f in failures:
        click.echo(printable(f"{f['timestamp'][:19]}Z  failed: {f['error']}: {f['message']}",
                             newlines=False))


@click.command()
@click.argument("url")
@click.option("--at", "at", metavar="DATETIME",
              help="ISO 8601, YYYY-MM-DD or YYYYMMDDhhmmss; default: the latest.")
@click.option("--any-status", is_flag=True, help="Consider redirects and errors too.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to FILE instead of stdout.")
@click.option("--screenshot", is_flag=True,
              help="The screenshot (PNG) of the page as the browser rendered it.")
@pass_context
def get(ctx: Context, url: str, at: str | None, any_status: bool, output: Path | None,
        screenshot: bool) -> None:
    """Write the archived payload of URL closest to DATETIME, decoded."""
    check_url(url)
    try:
        moment = parse_datetime(at) if at else None
    except InvalidDatetime as exc:
        fail(str(exc))
    store = ctx.store()
    try:
        if screenshot:  # taken of a rendered page, under the page's indexed URL
            url = screenshot_uri(store.captures.resolve(url))
        capture = store.captures.closest(url, moment, any_status=any_status)
        # A revisit serves the payload of the capture it refers to.
        holder = store.captures.original(capture)
    except CaptureNotFound as exc:
        fail(str(exc), code=EXIT_NOT_FOUND)
    finally:
        store.close()
    if holder.revisit:
        fail(f"the capture of {iso_seconds(capture.moment)} is a revisit of a record that is "
             "not in this archive", code=EXIT_NOT_FOUND)
    # Streamed, never held whole (a payload may be 100 MB); a file is written beside the
    # output and renamed once complete, so a failure leaves no half payload under its name.
    chunks = stream_payload(ctx.home.warc_dir, holder.warc, holder.offset)
    partial = output.with_name(output.name + ".part") if output else None
    try:
        first = next(chunks, b"")
        click.echo(f"capture of {iso_seconds(capture.moment)}, status {capture.status}",
                   err=True)
        with (open(partial, "wb") if partial else nullcontext(sys.stdout.buffer)) as out:
            out.write(first)
            for chunk in chunks:
                out.write(chunk)
            out.flush()
        if partial and output:
            partial.replace(output)
    except RecordNotFound as exc:
        fail(str(exc), code=EXIT_NOT_FOUND)
    except DecodeCapExceeded as exc:
        fail(f"not written: {exc} (the record keeps the body as it was received)",
             code=EXIT_NOT_FOUND)
    finally:
        if partial:
            partial.unlink(missing_ok=True)


@click.command()
@click.option("--no-crawl", is_flag=True, help="Only serve the replica site until Ctrl-C.")
@pass_context
def demo(ctx: Context, no_crawl: bool) -> None:
    """Capture the bundled replica news site, offline, into the home."""
    from crawler.demo.run import run_demo

    run_demo(ctx.home, ctx.store, serve_only=no_crawl)
