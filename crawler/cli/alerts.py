"""`vigil alerts test`: a test message to each alert channel, naming any that failed."""

from __future__ import annotations

import click

from crawler.app.after_crawl import server_url
from crawler.app.home import ConfigError
from crawler.cli.context import Context, fail, pass_context
from monitor.alert_message import test_message
from monitor.alerts import ChannelConfigError, channels_from_config, send

EXIT_FAILED = 1


@click.group()
def alerts() -> None:
    """The alert channels of vigil.toml's [[alerts]]."""


@alerts.command("test")
@click.option("--channel", "names", multiple=True, metavar="NAME",
              help="Only this channel (repeatable; default: every channel).")
@pass_context
def test(ctx: Context, names: tuple[str, ...]) -> None:
    """Send a test message to each channel; exit 1 naming any that failed."""
    try:
        channels = channels_from_config(ctx.home.config())
    except (ChannelConfigError, ConfigError) as exc:
        fail(str(exc))
    if not channels:
        fail(f"no [[alerts]] channels in {ctx.home.config_path}")
    unknown = [n for n in names if n not in {c.name for c in channels}]
    if unknown:
        fail(f"no channel named {', '.join(unknown)}; the channels are "
             f"{', '.join(c.name for c in channels)}")
    chosen = [c for c in channels if not names or c.name in names]
    server = server_url(ctx.home)
    failed = []
    for channel in chosen:
        error = send(channel.url, test_message(server, ctx.home.root.resolve().name,
                                               channel.name))
        if error is None:
            click.echo(f"{channel.name}: sent")
        else:
            failed.append(channel.name)
            click.echo(f"{channel.name}: FAILED: {error}")
    if failed:
        fail(f"failed: {', '.join(failed)}", code=EXIT_FAILED)
