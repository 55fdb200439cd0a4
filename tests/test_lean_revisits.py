"""An unchanged recapture writes what keeps it evidence and no more: a revisit record that
carries the validators sent, a lean index row, a compressed index line, a manifest of what
changed; verification still covers every file and every record."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cdxj_indexer.main import write_cdx_index
from warcio.archiveiterator import ArchiveIterator

from archive.cdxj import read_index
from conftest import Vigil, next_second, validating
from crawler.demo.siteserver import Resource, SiteServer

PAGE = b"<html><head><title>Order 12</title></head><body><article><h1>Order 12</h1>" \
    b"<p>The council ordered the east levee repaired before the spring floods.</p>" \
    b"<img src='/seal.png'></article></body></html>"
ETAG, MODIFIED = '"order-12"', "Mon, 30 Nov 2026 08:00:00 GMT"


# A page that answers 304 to its own validators.
order = validating(lambda: PAGE, ETAG, last_modified=lambda: MODIFIED)


@pytest.fixture
def recaptured(vigil: Vigil) -> Iterator[tuple[Vigil, SiteServer]]:
    """The page captured, then recaptured unchanged twice: a 304 for the page, an
    identical payload for its image (which has no validators)."""
    routes: dict[str, Any] = {"/orders/12/": order,
                              "/seal.png": Resource(b"\x89PNG seal" * 50,
                                                    content_type="image/png")}
    with SiteServer(routes, host="127.0.0.2") as site:
        vigil.run("add", site.url("/orders/12/"))
        vigil.crawl()
        next_second()
        vigil.crawl()
        next_second()
        vigil.crawl()
        yield vigil, site


def _records(warc: Path) -> list[tuple[str, Any]]:
    with open(warc, "rb") as handle:
        return [(r.rec_type, r.rec_headers) for r in ArchiveIterator(handle)]


def test_a_304_revisit_has_no_request_record_and_carries_the_validators_sent(
        recaptured: tuple[Vigil, SiteServer]) -> None:
    vigil, site = recaptured
    first, second, third = vigil.json("history", site.url("/orders/12/"))
    assert [e["status"] for e in (first, second, third)] == [200, 304, 304]
    for warc in vigil.warcs:
        records = _records(warc)
        responses = [h for t, h in records if t == "response"]
        requests = [h.get_header("WARC-Concurrent-To") for t, h in records if t == "request"]
        # Each response has its request record; a revisit has none.
        assert requests == [h.get_header("WARC-Record-ID") for h in responses]
    for warc in vigil.warcs[1:]:
        records = [(t, h) for t, h in _records(warc) if t == "revisit"]
        assert len(records) == 2
        page = next(h for t, h in records
                    if h.get_header("WARC-Target-URI") == site.url("/orders/12/"))
        assert page.get_header("WARC-Profile").endswith("/server-not-modified")
        assert page.get_header("Vigil-If-None-Match") == ETAG
        assert page.get_header("Vigil-If-Modified-Since") == MODIFIED
        image = next(h for t, h in records if h is not page)
        assert image.get_header("WARC-Profile").endswith("/identical-payload-digest")
        assert image.get_header("Vigil-If-None-Match") is None
    assert vigil.get(site.url("/orders/12/")) == PAGE


def test_a_revisit_row_reads_through_its_original_what_it_does_not_hold(
        recaptured: tuple[Vigil, SiteServer]) -> None:
    vigil, site = recaptured
    with sqlite3.connect(vigil.home / "vigil.db") as conn:
        rows = conn.execute("SELECT revisit, payload_digest, size, record_id, digest, "
                            "content_type, target_uri, last_modified, typeof(member_sha256) "
                            "FROM captures WHERE url = ? ORDER BY id",
                            [site.url("/orders/12/")]).fetchall()
    original, *revisits = rows
    assert original[0] == 0 and None not in original[1:6] and original[7] == MODIFIED
    assert revisits and all(r == (1, *[None] * 7, "blob") for r in revisits)
    history = vigil.json("history", site.url("/orders/12/"))
    assert len(history) == 3
    assert len({(e["digest"], e["size"], e["content_type"]) for e in history}) == 1
    assert vigil.json("verify")["problems"] == []


def test_each_closed_file_has_a_zipnum_index_of_the_lines_cdxj_indexer_reads_from_it(
        recaptured: tuple[Vigil, SiteServer]) -> None:
    vigil, _ = recaptured
    indexes = vigil.home / "indexes"
    for warc in vigil.warcs:
        reference = io.StringIO()
        write_cdx_index(reference, [str(warc)], {"sort": True})
        assert read_index(indexes, warc.name) == reference.getvalue()
        summary = (indexes / (warc.name + ".idx")).read_text().splitlines()
        key, part, offset, length, number = summary[0].split("\t")
        assert (part, offset, number) == (warc.name + ".cdx.gz", "0", "1")
        assert reference.getvalue().startswith(key + " ")
        assert int(length) == (indexes / part).stat().st_size
        assert (indexes / (warc.name + ".loc")).read_text() == f"{part}\t{part}\n"
    assert not list(indexes.glob("*.cdxj"))


def _manifests(vigil: Vigil) -> list[dict[str, Any]]:
    return [json.loads(p.read_bytes())
            for p in sorted((vigil.home / "manifests").glob("manifest-*.json"))]


def test_each_manifest_lists_only_the_file_its_crawl_closed_and_verify_covers_them_all(
        recaptured: tuple[Vigil, SiteServer]) -> None:
    vigil, _ = recaptured
    manifests = _manifests(vigil)
    assert len(manifests) == 3
    for manifest, warc in zip(manifests, vigil.warcs, strict=True):
        assert manifest["lists"] == "changes" and manifest["deletions"] == []
        assert [f["name"] for f in manifest["files"]] == [warc.name]
    report = vigil.json("verify")
    assert report["problems"] == [] and report["manifests"] == 3
    # A file a manifest listed before is still covered: changed, it is named.
    with open(vigil.warcs[0], "ab") as handle:
        handle.write(b"\0")
    failed = json.loads(vigil.run("verify", "--json", ok=False).stdout)
    problems = [p["problem"] for p in failed["problems"] if p["file"] == vigil.warcs[0].name]
    assert any("SHA-256 differs from the signed manifest" in p for p in problems), problems


def test_a_deletion_is_listed_once_in_the_next_manifest_and_the_file_leaves_the_union(
        recaptured: tuple[Vigil, SiteServer]) -> None:
    from crawler.app.evidence import delete_warc
    from crawler.app.home import Home
    from crawler.app.store import Store

    vigil, _ = recaptured
    gone = vigil.warcs[-1]
    store = Store.open(vigil.home / "vigil.db")
    try:
        delete_warc(Home(vigil.home), store, gone.name, "court order 12/3")
    finally:
        store.close()
    latest = _manifests(vigil)[-1]
    assert latest["files"] == []
    [deletion] = latest["deletions"]
    assert deletion["name"] == gone.name and deletion["custody"] > 0
    assert vigil.json("verify")["problems"] == []


def test_a_home_whose_manifests_list_every_file_still_verifies_and_then_lists_changes(
        recaptured: tuple[Vigil, SiteServer]) -> None:
    """A home signed by the previous version (each manifest listing every file) goes on
    with manifests of changes; the chain covers both."""
    vigil, _ = recaptured
    for path in sorted((vigil.home / "manifests").glob("manifest-*")):
        path.unlink()
    with sqlite3.connect(vigil.home / "vigil.db") as conn:
        conn.execute("UPDATE warcs SET signed_sha256 = NULL")
    from archive.custody import head
    from archive.signing import ManifestEntry, file_sha256, sign_manifest
    from crawler.app.store import Store

    store = Store.open(vigil.home / "vigil.db")
    try:  # what the previous version signed: every closed file, no "lists"
        sign_manifest(vigil.home / "manifests", vigil.home / "keys", [ManifestEntry(
            w.name, file_sha256(w), w.stat().st_size) for w in vigil.warcs],
            {"custody": head(store.db).as_dict()})
        with store.db.conn:
            store.db.execute("UPDATE warcs SET signed_sha256 = sha256")
    finally:
        store.close()
    next_second()
    vigil.crawl()
    old, new = _manifests(vigil)
    assert "lists" not in old and len(old["files"]) == 3
    assert [f["name"] for f in new["files"]] == [vigil.warcs[-1].name]
    assert vigil.json("verify")["problems"] == []


def test_an_export_carries_the_manifests_that_signed_its_source_files(
        recaptured: tuple[Vigil, SiteServer], tmp_path: Path) -> None:
    import zipfile

    vigil, _ = recaptured
    out = tmp_path / "orders.wacz"
    vigil.run("export", "--wacz", str(out))
    with zipfile.ZipFile(out) as package:
        carried = sorted(n for n in package.namelist()
                         if n.startswith("logs/home-manifest-") and n.endswith(".json"))
    assert len(carried) == 3  # each crawl's file was listed by its own manifest
    fingerprint = vigil.json("keys")["keys"][0]["fingerprint"]
    report = vigil.json("verify", "--wacz", str(out), "--trust", fingerprint)
    assert report["problems"] == []
