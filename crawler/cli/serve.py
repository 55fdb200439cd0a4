"""`vigil serve`: the archive given back over HTTP (Memento, replay)."""

from __future__ import annotations

import click

from crawler.cli.context import Context, pass_context


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True,
              help="Port of the Memento app; replay (pywb) listens on the next one.")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="NAME",
              help="Also answer requests whose Host header is NAME (repeatable; also "
              "`[serve] allowed_hosts` in vigil.toml). Loopback names and addresses and "
              "--host are always allowed.")
@pass_context
def serve(ctx: Context, host: str, port: int, allow_hosts: tuple[str, ...]) -> None:
    """Serve Memento TimeMaps, TimeGates and mementos, and replay archived pages."""
    from crawler.web.server import serve as run

    ctx.store().close()
    click.echo(f"vigil: serving {ctx.home.root} at http://{host}:{port}/ (replay on port "
               f"{port + 1}); Ctrl-C to stop", err=True)
    run(ctx.home, host, port, allowed_hosts=allow_hosts)
