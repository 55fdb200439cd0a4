"""The `vigil` command line: a module per command group, each command a thin call."""


def main() -> None:
    """The console script; imports the command line only when it runs."""
    from crawler.cli.main import main as run

    run()
