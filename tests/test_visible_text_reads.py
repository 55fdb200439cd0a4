"""A page with no article: its stored extract says it was read as visible text, and
`vigil crawl` says how many captures were."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from conftest import FAST, LOOPBACK_SITES, Vigil
from crawler.demo.siteserver import Resource, SiteServer

GALLERY_PATH = "/2026/10/10/gallery/"
STORY_PATH = "/2026/10/10/levee/"


def _gallery(caption: str) -> bytes:
    # No paragraph, no element named as the story, nothing trafilatura takes for one.
    return ("<html><head><title>Gallery</title></head><body><header><nav><a href='/'>Home"
            "</a></nav></header><div class='gallery'><img src='/1.jpg'><span>"
            f"{caption}</span></div></body></html>").encode()


def _story(word: str) -> bytes:
    return ("<html><head><title>Levee</title></head><body><article><h1>Levee report</h1>"
            + f"<p>The river authority published its {word} report on the levee today, "
            "with the inspection notes of the night crews. </p>" * 6
            + "</article></body></html>").encode()


def test_a_page_without_an_article_is_counted_in_the_crawl_summary_and_its_extract_says_so(
        vigil: Vigil) -> None:
    routes = {GALLERY_PATH: Resource(_gallery("The levee at dawn, seen from the bridge")),
              STORY_PATH: Resource(_story("first"))}
    with SiteServer(routes, host="127.0.0.2") as site:
        for path in (GALLERY_PATH, STORY_PATH):
            vigil.run("add", site.url(path), "--depth", "0")
        first = vigil.crawl()
        # A first capture is not compared, so not read: nothing to count yet.
        assert first["read_as_visible_text"] == 0
        routes[GALLERY_PATH] = Resource(_gallery("The breached levee at dawn, seen from "
                                                 "the bridge"))
        routes[STORY_PATH] = Resource(_story("second"))
        second = vigil.crawl()
        routes[GALLERY_PATH] = Resource(_gallery("The levee at noon, seen from the bridge"))
        human = vigil.run("crawl", *FAST, *LOOPBACK_SITES).stdout.decode()
    assert second["read_as_visible_text"] == 1
    assert sorted(e["url"] for e in second["events"] if e["kind"] == "edited") == sorted(
        [site.url(GALLERY_PATH), site.url(STORY_PATH)])
    with sqlite3.connect(vigil.home / "vigil.db") as conn:
        readers = dict(conn.execute(
            "SELECT c.url, e.reader FROM extracts e JOIN captures c ON c.id = e.capture_id "
            "WHERE c.crawl_id = ?", [second["crawl_id"]]).fetchall())
    assert readers == {site.url(GALLERY_PATH): "page", site.url(STORY_PATH): "article"}
    # The third crawl changed only the gallery: one capture read, as visible text.
    assert "read as visible text (no article found): 1 capture(s)" in human


def test_a_cached_extract_says_how_it_was_read_and_keeps_its_notices(tmp_path: Path) -> None:
    # The monitor's cache alone (no WARC read: the second call must come from the row).
    from sqlite_utils import Database

    from archive.schema import create_schema as archive_schema
    from monitor.detect import Monitor
    from monitor.extract import ExtractOptions, extract
    from monitor.reader import Reading
    from monitor.schema import create_schema as monitor_schema

    db = Database(tmp_path / "vigil.db")
    archive_schema(db)
    monitor_schema(db)
    db.execute("INSERT INTO captures (id, url, timestamp, status, content_type, digest, warc, "
               "offset, length, crawl_id) VALUES (1, 'http://127.0.0.2/gone/', 'x', 200, "
               "'text/html', 'sha1:X', 'missing.warc.gz', 0, 1, 1)")
    gone = _gallery("Sorry, the page you are looking for is no longer available.")
    found = extract(gone, "http://127.0.0.2/gone/")
    assert found is not None and found.reader == Reading.PAGE and found.notices
    monitor = Monitor(db, tmp_path)
    db.table("extracts").insert({
        "capture_id": 1, "extractor": found.extractor, "options_hash": found.options_hash,
        "title": found.title, "text": found.text, "text_hash": found.text_hash,
        "words": found.words, "outlinks": "[]", "reader": found.reader,
        "notices": json.dumps(list(found.notices))})
    cached = monitor.extract_of(next(db.query("SELECT * FROM captures")), ExtractOptions())
    assert cached is not None
    assert (cached.reader, cached.notices, cached.paragraphs) == (
        Reading.PAGE, found.notices, found.paragraphs)
