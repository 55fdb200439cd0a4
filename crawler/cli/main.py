"""The `vigil` group: the home option, the version, and every command group's commands."""

from __future__ import annotations

from pathlib import Path

import click

from crawler import __version__
from crawler.app.home import DEFAULT_HOME
from crawler.cli.capture import crawl, demo, get, history
from crawler.cli.cite import cite
from crawler.cli.context import Context
from crawler.cli.evidence import export, keys, verify
from crawler.cli.monitor import changes, diff
from crawler.cli.serve import serve
from crawler.cli.sources import add, init, schedule, sources
from crawler.cli.watch import crawls, reindex, stats, watch


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(file_okay=False, path_type=Path),
              envvar="VIGIL_HOME", default=DEFAULT_HOME, show_default=True,
              help="Archive home directory (env: VIGIL_HOME).")
@click.version_option(__version__, prog_name="vigil")
@click.pass_context
def cli(ctx: click.Context, home: Path) -> None:
    """vigil: archive news sources, what they link and cite, into WARC files."""
    ctx.obj = Context(home)


for command in (init, add, sources, schedule, crawl, history, get, demo, changes, diff, watch,
                crawls, stats, reindex, serve, export, verify, keys, cite):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="vigil")


if __name__ == "__main__":
    main()
