"""The `vigil` group: the home option, the version, and where each command lives."""

from __future__ import annotations

import importlib
from pathlib import Path

import click

from crawler import __version__
from crawler.app.home import DEFAULT_HOME

# Each command, by the module of its group. A command's module is imported only when the
# command runs (or help lists it): `vigil --version` or `vigil sources` never loads
# Scrapy, Twisted or the web app.
COMMANDS = {
    "init": "crawler.cli.sources:init",
    "add": "crawler.cli.sources:add",
    "sources": "crawler.cli.sources:sources",
    "schedule": "crawler.cli.sources:schedule",
    "crawl": "crawler.cli.capture:crawl",
    "history": "crawler.cli.capture:history",
    "get": "crawler.cli.capture:get",
    "demo": "crawler.cli.capture:demo",
    "changes": "crawler.cli.monitor:changes",
    "diff": "crawler.cli.monitor:diff",
    "watch": "crawler.cli.watch:watch",
    "crawls": "crawler.cli.watch:crawls",
    "stats": "crawler.cli.watch:stats",
    "reindex": "crawler.cli.watch:reindex",
    "serve": "crawler.cli.serve:serve",
    "export": "crawler.cli.evidence:export",
    "verify": "crawler.cli.evidence:verify",
    "keys": "crawler.cli.evidence:keys",
    "cite": "crawler.cli.cite:cite",
    "alerts": "crawler.cli.alerts:alerts",
}

class LazyGroup(click.Group):
    """A group whose commands are imported when first asked for (click's documented
    pattern for large command lines)."""

    def __init__(self, *args: object, lazy: dict[str, str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            module, _, name = self.lazy[cmd_name].partition(":")
            self.add_command(getattr(importlib.import_module(module), name), cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, lazy=COMMANDS,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(file_okay=False, path_type=Path),
              envvar="VIGIL_HOME", default=DEFAULT_HOME, show_default=True,
              help="Archive home directory (env: VIGIL_HOME).")
@click.version_option(__version__, prog_name="vigil")
@click.pass_context
def cli(ctx: click.Context, home: Path) -> None:
    """vigil: archive news sources, what they link and cite, into WARC files."""
    from crawler.cli.context import Context

    ctx.obj = Context(home)


def main() -> None:
    cli(prog_name="vigil")


if __name__ == "__main__":
    main()
