"""The CLI contract: homes, sources, errors and documentation."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import click

from conftest import Vigil
from crawler.cli.main import cli
from crawler.demo.siteserver import Resource, SiteServer

README = Path(__file__).resolve().parent.parent / "README.md"


def test_init_creates_the_home_and_is_idempotent(vigil: Vigil) -> None:
    vigil.run("init")
    for part in ("vigil.db", "warcs", "vigil.toml"):
        assert (vigil.home / part).exists(), part
    config = vigil.home / "vigil.toml"
    config.write_text(config.read_text() + "\n# mine\n")
    vigil.run("init")
    assert config.read_text().endswith("# mine\n")
    assert all(line.startswith("#") or not line.strip() or line.startswith("[")
               for line in config.read_text().splitlines())


def test_any_command_on_a_missing_home_initialises_it(vigil: Vigil) -> None:
    assert vigil.json("sources") == []
    assert (vigil.home / "vigil.db").exists() and (vigil.home / "warcs").is_dir()


def test_the_home_comes_from_vigil_home_then_defaults_to_vigil_data(tmp_path: Path) -> None:
    base = [sys.executable, "-m", "crawler.cli"]
    env = {**os.environ, "VIGIL_HOME": str(tmp_path / "from-env")}
    subprocess.run([*base, "init"], env=env, check=True, capture_output=True)
    assert (tmp_path / "from-env" / "vigil.db").exists()
    env.pop("VIGIL_HOME")
    subprocess.run([*base, "init"], env=env, cwd=tmp_path, check=True, capture_output=True)
    assert (tmp_path / "vigil-data" / "vigil.db").exists()


def test_adding_sources_and_listing_them_as_json(vigil: Vigil) -> None:
    vigil.run("add", "https://example.org/a", "https://www.example.net/b?x=1",
              "--depth", "2", "--name", "pair")
    listed = vigil.json("sources")
    assert [s["url"] for s in listed] == ["https://example.org/a", "https://www.example.net/b?x=1"]
    assert all(s["name"] == "pair" and s["depth"] == 2 and s["ignore_robots"] is False
               for s in listed)


def test_re_adding_a_url_updates_it_without_a_duplicate(vigil: Vigil) -> None:
    vigil.run("add", "https://example.org/a")
    vigil.run("add", "https://example.org/a", "--ignore-robots", "--depth", "0")
    [source] = vigil.json("sources")
    assert source["ignore_robots"] is True and source["depth"] == 0
    assert source["name"] == "example.org"


def test_sources_are_read_from_a_file_with_comments(vigil: Vigil, tmp_path: Path) -> None:
    listing = tmp_path / "sources.txt"
    listing.write_text("# newsroom sources\nhttps://example.org/one  # the first\n\n"
                       "https://example.org/two\n")
    vigil.run("add", "--from-file", str(listing))
    assert [s["url"] for s in vigil.json("sources")] == ["https://example.org/one",
                                                         "https://example.org/two"]


def test_the_repository_sources_file_lists_the_two_seed_articles(vigil: Vigil) -> None:
    vigil.run("add", "--from-file", str(README.parent / "sources.txt"))
    urls = [s["url"] for s in vigil.json("sources")]
    assert len(urls) == 2
    assert any("pea.cx" in u for u in urls) and any("bitterwinter.org" in u for u in urls)


def test_an_invalid_url_is_a_one_line_error_and_nothing_is_written(vigil: Vigil) -> None:
    for bad in ("example.org/no-scheme", "ftp://example.org/file", "http://", "https:///path"):
        result = vigil.run("add", "https://example.org/fine", bad, ok=False)
        assert result.returncode == 2, bad
        assert len(result.stderr.decode().strip().splitlines()) == 1
        assert result.stdout == b""
    assert vigil.json("sources") == []


def test_crawl_errors_are_usage_errors(vigil: Vigil) -> None:
    assert vigil.run("crawl", ok=False).returncode == 2  # no sources yet
    vigil.run("add", "https://example.org/a")
    unknown = vigil.run("crawl", "no-such-source", ok=False)
    assert unknown.returncode == 2 and b"no-such-source" in unknown.stderr
    bad_setting = vigil.run("crawl", "-s", "DOWNLOAD_DELAY", ok=False)
    assert bad_setting.returncode == 2 and b"NAME=VALUE" in bad_setting.stderr


def test_get_on_an_unknown_url_or_a_bad_date_fails_clearly(vigil: Vigil) -> None:
    unknown = vigil.run("get", "https://example.org/never", ok=False)
    assert unknown.returncode == 1
    assert unknown.stderr.decode().strip().splitlines() == [
        "vigil: error: no capture of https://example.org/never in this archive"]
    bad = vigil.run("get", "https://example.org/never", "--at", "last tuesday", ok=False)
    assert bad.returncode == 2 and b"last tuesday" in bad.stderr


def test_history_of_an_unknown_url_is_an_empty_json_array(vigil: Vigil) -> None:
    assert vigil.json("history", "https://example.org/never") == []


def test_every_command_and_option_is_documented_in_the_readme() -> None:
    readme = README.read_text()
    context = click.Context(cli)
    for name in cli.list_commands(context):
        command = cli.get_command(context, name)
        assert command is not None, name
        assert re.search(rf"vigil(\s+--home\s+\S+)?\s+{name}\b", readme), f"`vigil {name}`"
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("--") and opt != "--help":
                    assert opt in readme, f"`vigil {name} {opt}` is undocumented"


def test_get_and_history_reject_an_invalid_url_with_exit_2(vigil: Vigil) -> None:
    for command in ("get", "history"):
        for bad in ("notaurl", "http://h:99999/"):
            result = vigil.run(command, bad, ok=False)
            assert result.returncode == 2, (command, bad)
            assert len(result.stderr.decode().strip().splitlines()) == 1


def test_a_url_with_whitespace_in_its_host_is_refused(vigil: Vigil) -> None:
    assert vigil.run("add", "http://exa mple.com/", ok=False).returncode == 2
    assert vigil.json("sources") == []


def test_a_setting_value_of_the_wrong_type_is_a_usage_error(vigil: Vigil) -> None:
    vigil.run("add", "https://example.org/a")
    for bad in ("DOWNLOAD_DELAY=abc", "AUTOTHROTTLE_ENABLED=maybe",
                "CONCURRENT_REQUESTS_PER_DOMAIN=2.5"):
        result = vigil.run("crawl", "-s", bad, ok=False)
        assert result.returncode == 2 and result.stdout == b"", bad
    with sqlite3.connect(vigil.home / "vigil.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM crawls").fetchone()[0] == 0


def test_lower_case_percent_escapes_name_the_same_url(vigil: Vigil) -> None:
    vigil.run("add", "https://example.org/caf%C3%A9-owners")
    assert vigil.json("sources")[0]["url"] == "https://example.org/caf%C3%A9-owners"
    vigil.run("add", "https://example.org/caf%c3%a9-owners")
    assert len(vigil.json("sources")) == 1


def test_commands_that_do_not_crawl_load_neither_scrapy_nor_twisted(vigil: Vigil) -> None:
    # The command line starts quickly: a command's module is imported only when it runs.
    vigil.run("add", "https://example.org/a/")
    for args in (["--version"], ["sources", "--json"], ["changes", "--json"]):
        probe = ("import sys, runpy; sys.argv = ['vigil', '--home', sys.argv[1], *sys.argv[2:]]\n"
                 "try:\n    runpy.run_module('crawler.cli', run_name='__main__')\n"
                 "except SystemExit:\n    pass\n"
                 "loaded = sorted({m.split('.')[0] for m in sys.modules} & "
                 "{'scrapy', 'twisted', 'uvicorn', 'starlette'})\n"
                 "print('LOADED', loaded, file=sys.stderr)\n")
        done = subprocess.run([sys.executable, "-c", probe, str(vigil.home), *args],
                              capture_output=True, text=True)
        assert "LOADED []" in done.stderr, (args, done.stderr[-500:])


def test_page_text_reaches_the_terminal_without_its_control_sequences(vigil: Vigil) -> None:
    # A page that would retitle the terminal and clear the screen when its text is shown.
    hostile = "\x1b]0;pwned\x07\x1b[2J"

    def article(words: str) -> Resource:
        return Resource(f"<html><head><title>Report{hostile}</title></head><body><article>"
                        f"<h1>Report{hostile}</h1><p>The council {words} the report on the "
                        f"flood defences{hostile} and its findings.</p></article></body>"
                        "</html>".encode())

    routes = {"/2026/05/05/report/": article("denied")}
    with SiteServer(routes, host="127.0.0.2") as site:
        url = site.url("/2026/05/05/report/")
        vigil.run("add", url)
        vigil.crawl()
        routes["/2026/05/05/report/"] = article("confirmed")
        vigil.crawl()
    shown = vigil.run("diff", url).stdout + vigil.run("changes").stdout
    assert b"confirmed" in shown and b"\x1b" not in shown and b"\x07" not in shown
