"""Researchers' access: Memento, replay in Chromium, WACZ export, fixity, custody, citations."""

from __future__ import annotations

import base64
import json
import random
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from recaptured import start_serve

from archive.timeutil import parse_stored
from conftest import Vigil, next_second, stamp14
from crawler.demo.replica import SEED_PATH
from crawler.demo.siteserver import SiteServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@dataclass
class Served:
    vigil: Vigil
    base: str
    news: SiteServer
    outside: SiteServer

    def get(self, path: str, headers: dict[str, str] | None = None) -> Any:
        request = urllib.request.Request(self.base + path, headers=headers or {})
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            return opener.open(request, timeout=20)
        except urllib.error.HTTPError as error:
            return error


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any) -> None:
        return None


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The replica captured twice (the second time with an edit), served by vigil serve."""
    from crawler.demo.replica import news_site, outside_site, quietly_edit

    vigil = Vigil(tmp_path_factory.mktemp("access") / "home")
    with SiteServer(outside_site(), host="127.0.0.3") as outside, \
            SiteServer(news_site(outside.base), host="127.0.0.2") as news:
        vigil.run("add", news.url(SEED_PATH))
        vigil.crawl()
        next_second()  # the two captures fall in different seconds
        quietly_edit(news.routes, outside.routes, outside.base)
        vigil.crawl()
        # Started as every test starts it: retried on other ports if the replay's port
        # was taken meanwhile, or pywb's first start outlasted the wait.
        server, port = start_serve(vigil)
        try:
            yield Served(vigil, f"http://127.0.0.1:{port}", news, outside)
        finally:
            server.terminate()
            server.wait(timeout=20)


def test_timemaps_agree_with_history(served: Served) -> None:
    url = served.news.url(SEED_PATH)
    history = served.vigil.json("history", url)
    assert len(history) == 2
    timemap = json.load(served.get(f"/timemap/json/{url}"))
    assert [m["datetime"] for m in timemap["mementos"]["list"]] == \
        [h["timestamp"] for h in history]
    reply = served.get(f"/timemap/link/{url}")
    assert reply.headers["Content-Type"].startswith("application/link-format")
    text = reply.read().decode()
    assert f'<{url}>; rel="original"' in text
    assert text.count('memento"; datetime=') == 2
    for entry in history:
        stamp = stamp14(entry["timestamp"])
        assert f"/web/{stamp}/{url}>" in text


def test_the_timegate_redirects_to_the_memento_history_calls_closest(served: Served) -> None:
    url = served.news.url(SEED_PATH)
    first, second = (parse_stored(h["datetime"])
                     for h in served.vigil.json("history", url))
    for wanted, expected in ((first, first), (second, second)):
        reply = served.get(f"/timegate/{url}",
                           {"Accept-Datetime": format_datetime(wanted, usegmt=True)})
        assert reply.status == 302
        assert reply.headers["Vary"] == "accept-datetime"
        assert f"/web/{expected:%Y%m%d%H%M%S}/{url}" in reply.headers["Location"]
    memento = served.get(f"/web/{first:%Y%m%d%H%M%S}/{url}")
    assert memento.status == 200
    assert memento.headers["Memento-Datetime"] == format_datetime(first.replace(microsecond=0),
                                                                   usegmt=True)
    assert 'rel="original"' in memento.headers["Link"] and 'rel="timegate"' in \
        memento.headers["Link"]


def test_the_id_memento_is_the_archived_payload_unmodified(served: Served) -> None:
    url = served.news.url(SEED_PATH)
    for entry in served.vigil.json("history", url):
        stamp = stamp14(entry["timestamp"])
        body = served.get(f"/web/{stamp}id_/{url}").read()
        assert body == served.vigil.get(url, "--at", entry["datetime"])


def test_unknown_urls_bad_dates_and_traversal_are_refused(served: Served) -> None:
    assert served.get("/timemap/link/http://never.example/").status == 404
    assert served.get("/timegate/http://never.example/").status == 404
    url = served.news.url(SEED_PATH)
    assert served.get(f"/timegate/{url}", {"Accept-Datetime": "last week"}).status == 400
    assert served.get(f"/web/2026-11-21/{url}").status == 400
    assert served.get("/web/20261121000000id_/../../../etc/passwd").status in (400, 404)
    assert served.get("/web/20261121000000id_/http://x/..%2f..%2fvigil.db").status == 404
    body = served.get("/timemap/json/file:///etc/passwd").read()
    assert b"root:" not in body


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is installed by make")
def test_replay_in_chromium_loads_archived_images_and_css_and_never_the_live_site(
        served: Served) -> None:
    from playwright.sync_api import sync_playwright

    url = served.news.url(SEED_PATH)
    stamp = stamp14(served.vigil.json("history", url)[0]["timestamp"])
    live_before = len(served.news.requests) + len(served.outside.requests)
    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("request", lambda request: requested.append(request.url))
            page.goto(f"{served.base}/web/{stamp}/{url}", wait_until="networkidle")
            frame = next(f for f in page.frames if f != page.main_frame)
            frame.wait_for_load_state("networkidle")
            image = frame.evaluate("() => { const i = document.querySelector('figure img');"
                                   " return [i.complete, i.naturalWidth]; }")
            font = frame.evaluate("() => getComputedStyle(document.body).fontFamily")
            banner = frame.evaluate("() => getComputedStyle(document.querySelector("
                                    "'.masthead')).backgroundImage")
            reach = frame.evaluate("() => { try { return window.top.document.title; } "
                                   "catch (e) { return 'blocked'; } }")
        finally:
            browser.close()
    assert image[0] and image[1] > 0, "the archived image did not load"
    assert "Herald Serif" in font, "the archived stylesheet was not applied"
    assert "pattern.png" in banner
    assert reach == "blocked", "archived content could script the app's page"
    live = (served.news.base, served.outside.base)
    assert not [r for r in requested if r.startswith(live)], "a request left for the live site"
    assert len(served.news.requests) + len(served.outside.requests) == live_before
    assert any("/static/css/site.css" in r for r in requested)
    assert any("levee-" in r and r.endswith(".png") for r in requested)


def test_export_is_a_valid_wacz_that_a_third_party_can_verify_offline(
        served: Served, tmp_path: Path) -> None:
    out = tmp_path / "sources.wacz"
    served.vigil.run("export", "--wacz", str(out))
    check = subprocess.run([sys.executable, "-m", "wacz", "validate", "-f", str(out)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    with zipfile.ZipFile(out) as package:
        names = package.namelist()
        pages = package.read("pages/pages.jsonl").decode().splitlines()
        assert any(n.startswith("indexes/") for n in names)
        manifest_name = next(n for n in names if n.endswith(".json") and "manifest" in n)
        manifest = package.read(manifest_name)
        signature = base64.b64decode(package.read(manifest_name + ".sig"))
        public = serialization.load_pem_public_key(package.read("logs/vigil-ed25519.pub"))
        public.verify(signature, manifest)  # raises if it does not match
        [listed] = json.loads(manifest)["files"]
        import hashlib

        warc = package.read(f"archive/{listed['name']}")
        assert hashlib.sha256(warc).hexdigest() == listed["sha256"]
    assert any(served.news.url(SEED_PATH) in line for line in pages[1:])
    since = served.vigil.json("history", served.news.url(SEED_PATH))[1]["timestamp"]
    later = tmp_path / "later.wacz"
    served.vigil.run("export", "--wacz", str(later), "--source", "127.0.0.2", "--since", since)
    assert later.stat().st_size < out.stat().st_size


def test_verify_passes_then_fails_naming_the_record_after_one_flipped_byte(
        served: Served, tmp_path: Path) -> None:
    import shutil

    ok = served.vigil.run("verify", "--json", "--manifest")
    assert json.loads(ok.stdout)["ok"] is True
    copy = Vigil(tmp_path / "copy")
    shutil.copytree(served.vigil.home, copy.home)
    target = sorted((copy.home / "warcs").glob("*.warc.gz"))[0]
    pristine = target.read_bytes()
    chance = random.Random(2026)
    for _ in range(10):  # anywhere after the warcinfo: headers, bodies, gzip framing
        data = bytearray(pristine)
        where = chance.randrange(1200, len(data))
        data[where] ^= 1 << chance.randrange(8)
        target.write_bytes(bytes(data))
        result = copy.run("verify", "--json", ok=False)
        assert result.returncode == 1, where
        problems = json.loads(result.stdout)["problems"]
        located = [p for p in problems if p["file"] == target.name and p["offset"] is not None]
        assert located, (where, problems)
        assert any(p["offset"] <= where and p["url"] for p in located), (where, problems)
    target.write_bytes(pristine)


def test_the_custody_log_is_append_only_and_its_chain_is_checked(
        served: Served, tmp_path: Path) -> None:
    import shutil

    copy = Vigil(tmp_path / "custody")
    shutil.copytree(served.vigil.home, copy.home)
    db = copy.home / "vigil.db"
    with sqlite3.connect(db) as conn:
        actions = [r[0] for r in conn.execute("SELECT action FROM custody ORDER BY id")]
        assert actions[:2] == ["capture", "capture"]
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE custody SET detail = '{}' WHERE id = 1")
    with sqlite3.connect(db) as conn:  # someone with the file drops the guard and edits
        conn.execute("DROP TRIGGER custody_no_update")
        conn.execute("UPDATE custody SET detail = '{\"pages\": 1}' WHERE id = 1")
    result = copy.run("verify", "--json", ok=False)
    problems = json.loads(result.stdout)["problems"]
    assert any("custody log entry 1" in p["problem"] for p in problems)


def test_a_tampered_signature_fails_verify_manifest(served: Served, tmp_path: Path) -> None:
    import shutil

    copy = Vigil(tmp_path / "signed")
    shutil.copytree(served.vigil.home, copy.home)
    manifest = sorted((copy.home / "manifests").glob("manifest-*.json"))[0]
    manifest.write_text(manifest.read_text().replace('"size": ', '"size": 1'))
    result = copy.run("verify", "--manifest", "--json", ok=False)
    assert any("signature does not match" in p["problem"]
               for p in json.loads(result.stdout)["problems"])


@pytest.mark.parametrize("style", ["apa", "mla", "chicago", "bibtex", "robust-link"])
def test_a_citation_names_the_original_the_capture_the_copy_and_the_hash(
        served: Served, style: str) -> None:
    url = served.news.url(SEED_PATH)
    entry = served.vigil.json("history", url)[0]
    text = served.vigil.run("cite", url, "--at", entry["datetime"], "--style", style,
                            "--server", "http://archive.example").stdout.decode()
    stamp = stamp14(entry["timestamp"])
    assert url in text
    assert f"http://archive.example/web/{stamp}/{url}" in text
    if style == "robust-link":
        assert f'data-versionurl="http://archive.example/web/{stamp}/{url}"' in text
        assert f'data-versiondate="{entry["timestamp"][:10]}"' in text
    else:
        assert entry["digest"].removeprefix("sha256:") in text
    assert "Residents describe the night the levee gave way" in text
