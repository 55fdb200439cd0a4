"""Evidence a third party can check: the pinned key, every manifest signed and anchored in
the custody chain, every WARC file covered; forgers with write access but no key fail."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from warcio.warcwriter import WARCWriter

from archive.custody import entry_hash
from archive.digests import parse_digest, same_digest, warc_sha256
from conftest import Vigil, next_second
from crawler.demo.replica import SEED_PATH
from crawler.demo.siteserver import SiteServer


@dataclass
class Archive:
    vigil: Vigil
    seed: str
    manifest_key: str  # the Ed25519 fingerprint `vigil keys` prints first
    package_key: str  # the ECDSA one

    def copy(self, where: Path) -> Vigil:
        shutil.copytree(self.vigil.home, where)
        return Vigil(where)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    """The replica captured twice, the second time after an edit."""
    from crawler.demo.replica import news_site, outside_site, quietly_edit

    vigil = Vigil(tmp_path_factory.mktemp("evidence") / "home")
    with SiteServer(outside_site(), host="127.0.0.3") as outside, \
            SiteServer(news_site(outside.base), host="127.0.0.2") as news:
        vigil.run("add", news.url(SEED_PATH))
        vigil.crawl()
        next_second()  # the two captures fall in different seconds
        quietly_edit(news.routes, outside.routes, outside.base)
        vigil.crawl()
        keys = vigil.json("keys")["keys"]
        yield Archive(vigil, news.url(SEED_PATH), keys[0]["fingerprint"],
                      keys[1]["fingerprint"])


def _problems(vigil: Vigil, *args: str) -> list[str]:
    result = vigil.run("verify", "--json", *args, ok=False)
    report = json.loads(result.stdout)
    assert (result.returncode == 0) == report["ok"]
    return [f"{p['file']}: {p['problem']}" for p in report["problems"]]


def test_keys_prints_each_public_key_with_the_fingerprint_ssh_keygen_shows(
        archive: Archive, tmp_path: Path) -> None:
    shown = archive.vigil.json("keys")
    assert shown["fingerprint"] == archive.manifest_key
    for key in shown["keys"]:
        line = tmp_path / f"{key['algorithm']}.pub"
        line.write_text(key["openssh"] + "\n")
        listed = subprocess.run(["ssh-keygen", "-l", "-f", str(line)], capture_output=True,
                                text=True, check=True).stdout.split()
        assert listed[1] == key["fingerprint"]
        assert key["pem"].startswith("-----BEGIN PUBLIC KEY-----")
    text = archive.vigil.run("keys").stdout.decode()
    assert archive.manifest_key in text and archive.package_key in text
    assert shown["public_key"] in text


def test_verify_passes_pinned_to_either_published_fingerprint(archive: Archive) -> None:
    assert _problems(archive.vigil) == []
    assert _problems(archive.vigil, "--trust", archive.manifest_key) == []
    assert _problems(archive.vigil, "--trust", archive.package_key) == []
    assert _problems(archive.vigil, "--manifest") == []  # kept for old scripts
    # No TSA configured: no token, nothing to report about one.
    assert not list((archive.vigil.home / "manifests").glob("*.tsr"))
    assert archive.vigil.json("verify")["timestamps"] == []


def test_another_key_pair_and_re_signed_manifests_fail_verify_trust(
        archive: Archive, tmp_path: Path) -> None:
    from archive.signing import ensure_keys, sign_ed25519

    copy = archive.copy(tmp_path / "home")
    keys = copy.home / "keys"
    shutil.rmtree(keys)
    ensure_keys(keys)  # the forger's own pair, and every manifest signed again with it
    for manifest in sorted((copy.home / "manifests").glob("manifest-*.json")):
        signature = base64.b64encode(sign_ed25519(keys, manifest.read_bytes()))
        manifest.with_name(manifest.name + ".sig").write_bytes(signature + b"\n")
    assert _problems(copy) == []  # the home checks against itself...
    problems = _problems(copy, "--trust", archive.manifest_key)
    assert any("not the trusted key " + archive.manifest_key in p for p in problems)
    assert any("not the trusted key " in p for p in _problems(copy, "--trust",
                                                              archive.package_key))


def _forged_response(url: str, body: bytes) -> bytes:
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True, warc_version="1.1")
    from warcio.statusandheaders import StatusAndHeaders

    http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                       ("Content-Length", str(len(body)))], "HTTP/1.1")
    record = writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                       length=len(body), http_headers=http,
                                       warc_headers_dict={"WARC-Date": "2026-01-01T00:00:00Z"})
    writer.write_record(record)
    return out.getvalue()


def test_a_back_dated_forgery_with_an_edited_manifest_and_reindex_fails_verify(
        archive: Archive, tmp_path: Path) -> None:
    copy = archive.copy(tmp_path / "home")
    forged = b"<html><body><article><h1>The levee held</h1></article></body></html>"
    target = copy.warcs[-1]
    with open(target, "ab") as handle:
        handle.write(_forged_response(archive.seed, forged))
    manifest = sorted((copy.home / "manifests").glob("manifest-*.json"))[-1]
    body = json.loads(manifest.read_bytes())
    for entry in body["files"]:
        if entry["name"] == target.name:
            entry["sha256"] = hashlib.sha256(target.read_bytes()).hexdigest()
            entry["size"] = target.stat().st_size
    manifest.write_text(json.dumps(body, indent=1, sort_keys=True))
    copy.run("reindex")
    assert copy.get(archive.seed, "--at", "2026-01-01") == forged  # the forgery is served
    problems = _problems(copy, "--trust", archive.manifest_key)
    assert any(manifest.name in p and "signature does not match" in p for p in problems)


def test_a_planted_warc_file_is_named_as_unlisted(archive: Archive, tmp_path: Path) -> None:
    copy = archive.copy(tmp_path / "home")
    planted = copy.home / "warcs" / "vigil-20260101000000000-00000-elsewhere.warc.gz"
    planted.write_bytes(_forged_response(archive.seed, b"<html>planted</html>"))
    problems = _problems(copy, "--trust", archive.manifest_key)
    assert any(planted.name in p and "not listed in the latest signed manifest" in p
               for p in problems)


def test_a_deleted_warc_is_named_missing_and_a_logged_deletion_is_not_a_problem(
        archive: Archive, tmp_path: Path) -> None:
    from crawler.app.evidence import delete_warc
    from crawler.app.home import Home
    from crawler.app.store import Store

    copy = archive.copy(tmp_path / "home")
    gone = copy.warcs[0]
    gone.unlink()
    assert any(gone.name in p and "file missing" in p for p in _problems(copy))
    copy.run("reindex")  # the captures vanish from the index, not from the manifest
    assert any(gone.name in p and "file missing" in p for p in _problems(copy))
    logged = archive.copy(tmp_path / "logged")
    deleted = logged.warcs[-1]  # the later crawl's: no revisit refers into it
    store = Store.open(logged.home / "vigil.db")
    try:
        delete_warc(Home(logged.home), store, deleted.name, "court order 12/3")
    finally:
        store.close()
    assert _problems(logged, "--trust", archive.manifest_key) == []
    with sqlite3.connect(logged.home / "vigil.db") as conn:
        detail = json.loads(conn.execute("SELECT detail FROM custody WHERE action = "
                                         "'deletion'").fetchone()[0])
    assert not deleted.exists()
    assert detail["file"] == deleted.name and detail["reason"] == "court order 12/3"


def test_a_manifest_that_drops_a_file_without_a_logged_deletion_is_a_problem(
        archive: Archive, tmp_path: Path) -> None:
    from archive.custody import head
    from archive.signing import sign_manifest
    from crawler.app.store import Store

    copy = archive.copy(tmp_path / "home")
    gone = copy.warcs[0]
    gone.unlink()
    store = Store.open(copy.home / "vigil.db")
    try:  # what an older vigil did: sign the next manifest without the missing file
        sign_manifest(copy.home / "manifests", copy.home / "keys", [], {
            "custody": head(store.db).as_dict()})
    finally:
        store.close()
    problems = _problems(copy)
    assert any(gone.name in p and "no deletion in the custody log" in p for p in problems)


@pytest.mark.parametrize("cut", ["truncate", "rewrite"])
def test_cutting_or_rewriting_the_custody_chain_fails_verify(
        archive: Archive, tmp_path: Path, cut: str) -> None:
    copy = archive.copy(tmp_path / "home")
    with sqlite3.connect(copy.home / "vigil.db") as conn:
        conn.execute("DROP TRIGGER custody_no_delete")
        conn.execute("DROP TRIGGER custody_no_update")
        if cut == "truncate":
            conn.execute("DELETE FROM custody WHERE id >= 2")
        else:  # every entry rewritten and rehashed: the chain itself checks
            previous = "0" * 64
            rows = conn.execute("SELECT id, at, action, detail FROM custody ORDER BY id")
            for row_id, at, action, detail in rows.fetchall():
                detail = detail.replace('"pages": ', '"pages": 1')
                digest = entry_hash(previous, at, action, detail)
                conn.execute("UPDATE custody SET detail = ?, prev_hash = ?, hash = ? "
                             "WHERE id = ?", [detail, previous, digest, row_id])
                previous = digest
    problems = _problems(copy, "--trust", archive.manifest_key)
    assert any("custody log" in p and "signed manifest" in p for p in problems), problems


def test_removing_a_signed_manifest_is_a_problem(archive: Archive, tmp_path: Path) -> None:
    copy = archive.copy(tmp_path / "home")
    first = sorted((copy.home / "manifests").glob("manifest-*.json"))[0]
    first.unlink()
    first.with_name(first.name + ".sig").unlink()
    assert any("does not follow the manifest before it" in p for p in _problems(copy))


def test_digests_are_written_as_hex_and_read_in_every_form(archive: Archive) -> None:
    from warcio.archiveiterator import ArchiveIterator

    digest = hashlib.sha256(b"evidence").digest()
    written = warc_sha256(digest)
    assert written == "sha256:" + digest.hex()
    forms = [written, "sha256:" + base64.b32encode(digest).decode(),
             "sha256:" + base64.b32encode(digest).decode().rstrip("="),
             "SHA-256:" + base64.b64encode(digest).decode()]
    assert all(parse_digest(f) == ("sha256", digest) for f in forms)
    assert same_digest(forms[0], forms[1]) and not same_digest(forms[0], "sha256:" + "0" * 64)
    with open(archive.vigil.warcs[-1], "rb") as handle:
        for record in ArchiveIterator(handle):
            if record.rec_type in ("response", "request", "revisit"):
                for name in ("WARC-Block-Digest", "WARC-Payload-Digest"):
                    field = record.rec_headers.get_header(name)
                    assert field and "=" not in field and len(field) == 71, (name, field)
    checked = subprocess.run([str(Path(sys.executable).parent / "warcio"), "check", "-v",
                              *map(str, archive.vigil.warcs)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout
    assert "digest pass" in checked.stdout and "fail" not in checked.stdout


def test_fastwarc_checks_every_block_and_payload_digest_we_write(archive: Archive) -> None:
    from fastwarc import ArchiveIterator as FastIterator
    from fastwarc import WarcRecordType

    exchanges = WarcRecordType.response | WarcRecordType.request
    for path in archive.vigil.warcs:
        with open(path, "rb") as handle:
            blocks = [r.verify_block_digest() for r in FastIterator(handle, parse_http=False)]
        with open(path, "rb") as handle:
            payloads = [r.verify_payload_digest()
                        for r in FastIterator(handle, parse_http=True, record_types=exchanges)]
        assert blocks and all(blocks), path.name
        assert payloads and all(payloads), path.name


def test_an_unreadable_public_key_is_a_problem_not_a_crash(archive: Archive,
                                                          tmp_path: Path) -> None:
    copy = archive.copy(tmp_path / "home")
    (copy.home / "keys" / "vigil-ed25519.pub").write_text("not a key\n")
    assert any("no readable public key" in p for p in _problems(copy))


def test_an_index_row_back_dated_in_the_database_fails_verify(archive: Archive,
                                                              tmp_path: Path) -> None:
    copy = archive.copy(tmp_path / "home")
    with sqlite3.connect(copy.home / "vigil.db") as conn:
        conn.execute("UPDATE captures SET timestamp = '2026-01-01T00:00:00.000000Z' "
                     "WHERE id = (SELECT MIN(id) FROM captures)")
    assert any("WARC-Date" in p for p in _problems(copy, "--trust", archive.manifest_key))


def test_every_digest_of_every_record_is_inside_warc_1_1s_grammar(archive: Archive) -> None:
    import re

    from warcio.archiveiterator import ArchiveIterator

    token = re.compile(r"^[a-z0-9]+:[^\x00-\x20()<>@,;:\\\"/\[\]?={}\x7f]+$")
    for path in archive.vigil.warcs:
        with open(path, "rb") as handle:
            for record in ArchiveIterator(handle):
                for name in ("WARC-Block-Digest", "WARC-Payload-Digest"):
                    field = record.rec_headers.get_header(name)
                    assert field is None or token.match(field), (record.rec_type, field)
