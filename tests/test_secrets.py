"""Secrets stay secret: the home is its owner's only, and alert passwords never reach SQLite."""

from __future__ import annotations

import sqlite3
import stat
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from conftest import Vigil, send_html
from crawler.app.store import Store
from crawler.demo.siteserver import SiteServer


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_home_and_its_secrets_are_readable_by_their_owner_only(vigil: Vigil) -> None:
    vigil.run("init")
    home = vigil.home
    assert _mode(home) == 0o700
    assert _mode(home / "vigil.toml") == 0o600
    assert _mode(home / "vigil.db") == 0o600
    assert _mode(home / "keys") == 0o700
    private = [k for k in (home / "keys").iterdir() if "PRIVATE" in k.read_text()]
    assert private and all(_mode(k) == 0o600 for k in private)


def test_an_existing_home_left_open_to_others_is_closed_by_the_next_command(
        vigil: Vigil) -> None:
    vigil.run("init")
    for path, mode in ((vigil.home, 0o755), (vigil.home / "vigil.toml", 0o644),
                       (vigil.home / "vigil.db", 0o644)):
        path.chmod(mode)
    vigil.run("sources")
    assert _mode(vigil.home) == 0o700
    assert _mode(vigil.home / "vigil.toml") == 0o600
    assert _mode(vigil.home / "vigil.db") == 0o600


def test_an_alert_channels_password_is_never_written_to_the_database(vigil: Vigil) -> None:
    def page(handler: BaseHTTPRequestHandler) -> None:
        send_html(handler, b"<html><body><article><h1>Story</h1><p>Words of the story "
                           b"to read.</p></article></body></html>")

    with SiteServer({"*": page}, host="127.0.0.2") as site:
        vigil.run("init")
        with (vigil.home / "vigil.toml").open("a") as config:
            # A webhook on a port nothing listens on: the delivery fails, the URL is kept.
            config.write('\n[[alerts]]\nname = "desk"\n'
                         'url = "json://editor:hunter2-secret@127.0.0.1:9/hook"\n')
        vigil.run("add", site.url("/story/"))
        vigil.crawl()
    stored = b"".join(p.read_bytes() for p in vigil.home.glob("vigil.db*"))
    assert b"hunter2-secret" not in stored
    with sqlite3.connect(vigil.home / "vigil.db") as conn:
        (url, digest), = conn.execute("SELECT url, url_sha256 FROM channels").fetchall()
    assert url is None and digest.startswith("sha256:")


def test_an_upgraded_home_forgets_the_channel_urls_it_kept(tmp_path: Path) -> None:
    fixture = Path(__file__).parent / "fixtures" / "home-schema-v4.sql"
    conn = sqlite3.connect(tmp_path / "vigil.db")
    conn.executescript(fixture.read_text())
    conn.execute("INSERT INTO channels (name, url, baseline, added_at) VALUES "
                 "('desk', 'mailto://u:hunter2-secret@smtp.example.org', 0, '2026-11-20')")
    conn.commit()
    conn.close()
    store = Store.open(tmp_path / "vigil.db")
    try:
        assert store.db.execute("SELECT url, url_sha256 FROM channels").fetchall() == [
            (None, store.db.execute("SELECT url_sha256 FROM channels").fetchone()[0])]
        assert store.db.execute("SELECT url_sha256 FROM channels").fetchone()[0] \
            .startswith("sha256:")
    finally:
        store.close()
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("vigil.db*"))
    assert b"hunter2-secret" not in stored
