"""The `vigil` command line: a module per command group, each command a thin call."""

from crawler.cli.main import main

__all__ = ["main"]
