"""ReplayWeb.page (its npm package, in Chromium, on loopback) verifies an export's signature:
what its collection API reports, and what its verification store holds, per package."""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import threading
import time
import zipfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from recaptured import CHROMIUM, CHROMIUM_ARGS, needs_chromium
from test_replaywebpage import PACKAGE, replaywebpage

from conftest import Vigil
from crawler.demo.siteserver import Resource, SiteServer

# The verification rows wabac.js stores for a package, read from the app's IndexedDB.
READ_VERIFICATION = """async () => {
  for (const found of await indexedDB.databases()) {
    const db = await new Promise((ok, no) => {
      const open = indexedDB.open(found.name); open.onsuccess = () => ok(open.result);
      open.onerror = no; });
    if (![...db.objectStoreNames].includes("verification")) continue;
    return await new Promise((ok) => {
      const rows = db.transaction("verification").objectStore("verification").getAll();
      rows.onsuccess = () => ok(rows.result); });
  }
  return null;
}"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def _verification(player: Path, site: Path, wacz: Path) -> dict[str, Any]:
    """What ReplayWeb.page's verification store holds for ``wacz``, by row id."""
    from playwright.sync_api import sync_playwright

    (site / "replay").mkdir(parents=True, exist_ok=True)
    shutil.copy(player / "ui.js", site / "ui.js")
    shutil.copy(player / "sw.js", site / "replay" / "sw.js")
    shutil.copy(wacz, site / "archive.wacz")
    (site / "index.html").write_text(
        "<!doctype html><html><head><script src='/ui.js'></script></head><body>"
        "<replay-web-page source='/archive.wacz' replayBase='/replay/' "
        "style='display:block;height:600px'></replay-web-page></body></html>")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet,
                                                                     directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                 args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.goto(base + "/index.html")
                # The service worker loads and verifies the WACZ (seconds alone, over a
                # minute in a loaded full run).
                deadline = time.monotonic() + 90
                while time.monotonic() < deadline:
                    for frame in page.frames:
                        if "/replay/?source=" not in frame.url:
                            continue
                        try:
                            rows = frame.evaluate(READ_VERIFICATION)
                        except Exception:  # noqa: BLE001 -- a frame navigating away
                            continue
                        found = {r["id"]: r for r in rows or []}
                        if "signature" in found:
                            return found
                    page.wait_for_timeout(250)
                return {}
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()


@needs_chromium
def test_replaywebpage_shows_the_export_signed_and_a_re_signed_copy_not(
        tmp_path: Path) -> None:
    player = replaywebpage()
    if player is None:
        pytest.skip(f"{PACKAGE} could not be fetched with npm")
    vigil = Vigil(tmp_path / "home")
    page = Resource(b"<html><body><article><h1>Statement</h1><p>Words.</p></article>"
                    b"</body></html>")
    with SiteServer({"/statement": page}, host="127.0.0.2") as site:
        vigil.run("add", site.url("/statement"), "--depth", "0")
        vigil.crawl()
    wacz = tmp_path / "statement.wacz"
    vigil.run("export", "--wacz", str(wacz))
    with zipfile.ZipFile(wacz) as package:
        digest = json.loads(package.read("datapackage-digest.json"))
    # Once more in a new browser and origin if the first never got as far as verifying:
    # in full runs its service worker sometimes never loaded the package at all.
    shown = _verification(player, tmp_path / "site", wacz) or \
        _verification(player, tmp_path / "site-again", wacz)
    assert shown, "ReplayWeb.page never recorded its verification of the package"
    assert shown["signature"]["matched"] is True, shown
    assert shown["publicKey"]["expected"] == digest["signedData"]["publicKey"]
    assert shown["datapackageHash"]["expected"] == digest["hash"]
    assert shown["software"]["expected"].startswith("vigil/")

    broken = tmp_path / "broken.wacz"  # the signature of another hash
    with zipfile.ZipFile(wacz) as old, zipfile.ZipFile(broken, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename == "datapackage-digest.json":
                other = json.loads(data)
                other["signedData"]["hash"] = other["hash"] = "sha256:" + hashlib.sha256(
                    b"another package").hexdigest()
                data = json.dumps(other).encode()
            new.writestr(info, data)
    assert _verification(player, tmp_path / "site2", broken).get(
        "signature", {}).get("matched") is not True
