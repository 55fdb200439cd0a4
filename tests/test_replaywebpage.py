"""A WACZ from `vigil export` replays in ReplayWeb.page (its npm package's ui.js and sw.js,
served on loopback, in Chromium): the 304 recapture shows the article."""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from recaptured import ARTICLE, CHROMIUM, CHROMIUM_ARGS, HEADLINE, needs_chromium, recaptured

from archive.replayindex import resolve_wacz
from conftest import Vigil, stamp14

# ReplayWeb.page (AGPL-3.0, Webrecorder) is fetched with npm into a cache, never committed.
PACKAGE = "replaywebpage@2.5.3"
CACHE = Path.home() / ".cache" / "vigil" / PACKAGE.replace("@", "-")


def replaywebpage() -> Path | None:
    """The unpacked package (ui.js, sw.js), fetched once with `npm pack` if npm is there."""
    if (CACHE / "package" / "sw.js").exists():
        return CACHE / "package"
    npm = shutil.which("npm")
    if npm is None:
        return None
    CACHE.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([npm, "pack", PACKAGE, "--silent"], cwd=CACHE, capture_output=True,
                          text=True, timeout=300)
    tarballs = sorted(CACHE.glob("replaywebpage-*.tgz"))
    if done.returncode != 0 or not tarballs:
        return None
    with tarfile.open(tarballs[-1]) as tarball:
        tarball.extractall(CACHE, filter="data")
    return CACHE / "package" if (CACHE / "package" / "sw.js").exists() else None


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Vigil, str, Path]]:
    vigil = Vigil(tmp_path_factory.mktemp("rwp") / "home")
    with recaptured(vigil) as site:
        url = site.url(ARTICLE)
    out = vigil.home.parent / "export.wacz"
    vigil.run("export", "--wacz", str(out))
    yield vigil, url, out


def _replay(player: Path, site: Path, wacz: Path, url: str, stamp: str) -> str:
    """The text ReplayWeb.page shows for ``url`` at ``stamp`` from ``wacz``."""
    from playwright.sync_api import sync_playwright

    (site / "replay").mkdir(parents=True, exist_ok=True)
    shutil.copy(player / "ui.js", site / "ui.js")
    shutil.copy(player / "sw.js", site / "replay" / "sw.js")
    shutil.copy(wacz, site / "archive.wacz")
    (site / "index.html").write_text(
        "<!doctype html><html><head><script src='/ui.js'></script></head><body>"
        f"<replay-web-page source='/archive.wacz' url='{url}' ts='{stamp}' "
        "replayBase='/replay/' embed='replayonly' style='display:block;height:600px'>"
        "</replay-web-page></body></html>", encoding="utf-8")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet,
                                                                     directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                 args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html")
                deadline = time.monotonic() + 90  # generous: the machine may be loaded
                while time.monotonic() < deadline:  # the service worker loads the WACZ
                    for frame in page.frames:
                        if f"{stamp}mp_/" not in frame.url:
                            continue
                        try:
                            frame.wait_for_load_state("load", timeout=5000)
                            text = frame.evaluate("() => document.body ? "
                                                  "document.body.innerText : ''")
                        except Exception:  # noqa: BLE001 -- a frame navigating away
                            continue
                        if text.strip():
                            return str(text)
                    page.wait_for_timeout(250)
                return ""
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()


def test_vigil_export_resolves_its_304_revisits_for_replaywebpage(
        exported: tuple[Vigil, str, Path], tmp_path: Path) -> None:
    copy = tmp_path / "copy.wacz"
    shutil.copy(exported[2], copy)
    assert resolve_wacz(copy) is False, "the export still has 304 revisits with status 304"
    check = subprocess.run([sys.executable, "-m", "wacz", "validate", "-f", str(exported[2])],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


@needs_chromium
def test_replaywebpage_shows_the_article_of_the_304_recapture_from_the_export(
        exported: tuple[Vigil, str, Path], tmp_path: Path) -> None:
    player = replaywebpage()
    if player is None:
        pytest.skip(f"{PACKAGE} could not be fetched with npm")
    vigil, url, wacz = exported
    latest = vigil.json("history", url)[-1]
    assert latest["status"] == 304 and latest["revisit"]
    stamp = stamp14(latest["timestamp"])
    # Once more in a new browser and origin if the first never showed the page: in full
    # runs ReplayWeb.page's service worker sometimes never loads the package at all (as
    # test_wacz_replaywebpage.py found); alone, or beside a loaded CPU, it shows it in
    # seconds.
    text = _replay(player, tmp_path / "site", wacz, url, stamp) or \
        _replay(player, tmp_path / "site-again", wacz, url, stamp)
    assert HEADLINE in text and "three written warnings" in text
