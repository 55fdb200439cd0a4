"""Shared pieces of the CLI: the home context, one-line errors, JSON output."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from archive.timeutil import InvalidDatetime, parse_datetime
from archive.urls import InvalidURL, validate_url
from crawler.app.home import Home
from crawler.app.store import NewerHome, Store

EXIT_NOT_FOUND = 1
EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """One line on stderr and a non-zero exit: the user's mistakes are not tracebacks."""
    click.echo(f"vigil: error: {message}", err=True)
    sys.exit(code)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


class Context:
    def __init__(self, home: Path) -> None:
        self.home = Home(home)

    def store(self) -> Store:
        """Open the store, initialising a missing home first."""
        self.home.create()
        try:
            return Store.open(self.home.db_path)
        except NewerHome as exc:
            fail(str(exc))


pass_context = click.make_pass_decorator(Context)


def check_url(url: str) -> None:
    """A URL argument that is not an http(s) URL with a host: one line, exit 2."""
    try:
        validate_url(url)
    except InvalidURL as exc:
        fail(str(exc))


def option_datetime(text: str | None, option: str) -> datetime | None:
    """A DATETIME option's value; an unreadable one is a one-line error, exit 2."""
    if text is None:
        return None
    try:
        return parse_datetime(text)
    except InvalidDatetime as exc:
        fail(f"{option}: {exc}")


