"""The home's schema: libraries own their tables, and older homes are brought up to date."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from conftest import Vigil
from crawler.app.store import HOME_TABLES, SCHEMA_VERSION, Store

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"


def _old_home(path: Path) -> Path:
    db = path / "vigil.db"
    conn = sqlite3.connect(db)
    conn.executescript((FIXTURES / "home-schema-v4.sql").read_text())
    conn.close()
    return db


def test_a_home_from_the_previous_schema_keeps_its_rows_and_reaches_this_version(
        tmp_path: Path) -> None:
    store = Store.open(_old_home(tmp_path))
    try:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        (source,) = store.sources()
        assert source.url == "http://127.0.0.2:8000/story/"
        (capture,) = store.captures.history("http://127.0.0.2:8000/story/")
        assert capture.status == 200 and capture.payload_digest == "sha256:AA"
        assert [f["error"] for f in store.failures("http://127.0.0.3/gone")] == ["DNSLookupError"]
        assert store.db.execute("SELECT kind FROM events").fetchall() == [("edited",)]
        # The custody log stays append-only through the upgrade.
        triggers = {r[0] for r in store.db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        assert {"custody_no_update", "custody_no_delete"} <= triggers
    finally:
        store.close()


def test_a_home_made_before_lean_revisits_reads_its_revisits_and_then_writes_lean_ones(
        tmp_path: Path) -> None:
    from dataclasses import replace

    db = tmp_path / "vigil.db"
    conn = sqlite3.connect(db)
    conn.executescript((FIXTURES / "home-schema-v9.sql").read_text())
    conn.close()
    url = "http://127.0.0.2:8000/story/"
    store = Store.open(db)
    try:
        indexes = {r[0] for r in store.db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index'")}
        # The captures table became rows that name a URL and a file by number, read
        # through the captures view (the old table's indexes went with it).
        assert not {"idx_captures_url_payload_status_timestamp",
                    "idx_captures_url_timestamp"} & indexes
        assert "idx_capture_rows_url_id_time_us" in indexes
        kinds = dict(store.db.execute("SELECT name, type FROM sqlite_master WHERE name IN "
                                      "('captures', 'capture_rows')").fetchall())
        assert kinds == {"captures": "view", "capture_rows": "table"}
        assert store.db.execute("SELECT signed_sha256 FROM warcs").fetchall() == [(None,)]
        original, old = store.captures.history(url)
        assert old.revisit and old.refers_to == original.id
        assert old.record_id == "<urn:uuid:22222222-2222-2222-2222-222222222222>"
        assert (old.payload_digest, old.etag, old.size) == (
            original.payload_digest, original.etag, original.size)
        again = replace(old, timestamp="2026-12-02T08:00:00.000000Z", warc="vigil-3.warc.gz",
                        record_id="<urn:uuid:33333333-3333-3333-3333-333333333333>", id=None)
        store.captures.add([again])
        stored = store.db.execute(
            "SELECT payload_digest, size, ip_address, etag, last_modified, record_id, "
            "target_uri, digest, content_type FROM captures WHERE warc = 'vigil-3.warc.gz'"
        ).fetchone()
        # What it reads through its original is not written again; what is its own is.
        assert stored == (None,) * 9
        *_, new = store.captures.history(url)
        assert (new.payload_digest, new.size, new.ip_address, new.etag, new.last_modified,
                new.target_uri, new.digest, new.content_type) == (
            original.payload_digest, original.size, original.ip_address, original.etag,
            original.last_modified, url, original.digest, "text/html")
        assert store.captures.closest(url) == new
        assert store.captures.last_payload(url) == new
    finally:
        store.close()


def test_an_upgraded_home_has_the_same_schema_as_a_new_one(tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    Store.open(_old_home(tmp_path / "old")).close()
    Store.open(tmp_path / "new" / "vigil.db").close()

    def columns(db: Path) -> dict[str, set[str]]:
        conn = sqlite3.connect(db)
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")]
        found = {t: {r[1] for r in conn.execute(f"PRAGMA table_info({t})")} for t in tables}
        conn.close()
        return found

    assert columns(tmp_path / "old" / "vigil.db") == columns(tmp_path / "new" / "vigil.db")

    def triggers(db: Path) -> set[tuple[str, str]]:
        conn = sqlite3.connect(db)
        found = set(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))
        conn.close()
        return found

    assert triggers(tmp_path / "old" / "vigil.db") == triggers(tmp_path / "new" / "vigil.db")


def test_a_home_from_a_newer_vigil_is_a_one_line_error(tmp_path: Path) -> None:
    vigil = Vigil(tmp_path / "home")
    vigil.run("init")
    conn = sqlite3.connect(vigil.home / "vigil.db")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    done = vigil.run("sources", ok=False)
    assert done.returncode == 2
    error = done.stderr.decode()
    assert error.strip().count("\n") == 0 and "upgrade vigil" in error


def test_the_libraries_create_and_use_their_tables_without_the_application(
        tmp_path: Path) -> None:
    # Only archive/ and monitor/ on the path: no crawler/, no spiders/.
    for package in ("archive", "monitor"):
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    script = (
        "import sys\n"
        "from sqlite_utils import Database\n"
        "from archive.schema import create_schema as a\n"
        "from monitor.schema import create_schema as m\n"
        "from archive.index import CaptureIndex\n"
        "from monitor.events import EventLog\n"
        "db = Database(memory=True)\n"
        "a(db); m(db); a(db); m(db)\n"
        "assert CaptureIndex(db).count() == 0\n"
        "assert EventLog(db).query() == []\n"
        # (click is loaded by sqlite-utils itself; tests/test_layout.py checks that no
        # module of the libraries imports it.)
        "bad = [n for n in sys.modules if n.split('.')[0] in "
        "('crawler', 'spiders', 'scrapy', 'twisted')]\n"
        "assert not bad, bad\n"
        "print('ok')\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def _definitions() -> str:
    from archive.schema import CAPTURE_COLUMNS, INTERNED
    from archive.schema import TABLES as ARCHIVE_TABLES
    from monitor.schema import TABLES as MONITOR_TABLES

    return repr([(t.name, sorted((k, v.__name__) for k, v in t.columns.items()), t.pk,
                  sorted(t.not_null), sorted(t.defaults.items()), list(t.indexes),
                  list(getattr(t, "dropped_indexes", ())),
                  list(getattr(t, "partial_indexes", ())))
                 for t in (*HOME_TABLES, *ARCHIVE_TABLES, *MONITOR_TABLES)]) + repr(
        # The captures view is made from these.
        (list(CAPTURE_COLUMNS), sorted(INTERNED.items())))


def test_a_change_to_any_table_bumps_the_schema_version() -> None:
    # An open skips the schema work when the version matches, so a table changed without
    # a new version would never reach existing homes. Bump SCHEMA_VERSION, then this pin.
    pinned = {14: "53d8355357744957"}
    digest = hashlib.sha256(_definitions().encode()).hexdigest()[:16]
    assert pinned.get(SCHEMA_VERSION) == digest, (
        f"table definitions changed: bump SCHEMA_VERSION and pin {digest}")


def test_a_revisit_row_holds_only_what_differs_from_its_original_and_reads_back_whole(
        ) -> None:
    from dataclasses import replace

    from sqlite_utils import Database

    from archive.index import Capture, CaptureIndex
    from archive.schema import create_schema

    db = Database(memory=True)
    create_schema(db)
    index = CaptureIndex(db)
    original = Capture(url="http://127.0.0.2/story/", timestamp="2026-12-01T08:00:00.000000Z",
                       status=200, content_type="text/html", digest="sha256:" + "a" * 64,
                       payload_digest="sha256:" + "b" * 64, warc="vigil-1.warc.gz", offset=0,
                       length=900, found_by="related", referrer="http://127.0.0.2/",
                       etag='"v1"', member_sha256="c" * 64, record_id="<urn:uuid:1>")
    index.add([original])
    stored = index.history(original.url)[0]
    # Found as a link before, a seed now: no referrer of its own, which is not its original's.
    seed = replace(stored, timestamp="2026-12-02T08:00:00.000000Z", status=304,
                   warc="vigil-2.warc.gz", revisit=True, refers_to=stored.id,
                   found_by="seed", referrer=None, member_sha256="d" * 64, record_id=None,
                   id=None)
    linked = replace(seed, timestamp="2026-12-03T08:00:00.000000Z", warc="vigil-3.warc.gz",
                     found_by="related", referrer="http://127.0.0.2/")
    index.add([seed, linked])
    rows = db.execute("SELECT digest, content_type, referrer, etag, hex(member_sha256) "
                      "FROM captures WHERE revisit = 1 ORDER BY id").fetchall()
    assert rows == [(None, None, "", None, "D" * 64), (None, None, None, None, "D" * 64)]
    _, first, second = index.history(original.url)
    assert first == replace(seed, id=first.id, payload_status=200)
    assert second == replace(linked, id=second.id, payload_status=200)
    assert first.referrer is None and second.referrer == original.referrer
    assert stored.member_sha256 == "c" * 64


def test_a_revisit_row_keeps_an_etag_only_when_weak_comparison_tells_it_from_the_originals(
        ) -> None:
    from dataclasses import replace

    from sqlite_utils import Database

    from archive.index import Capture, CaptureIndex
    from archive.schema import create_schema

    db = Database(memory=True)
    create_schema(db)
    index = CaptureIndex(db)
    index.add([Capture(url="http://127.0.0.2/story/", timestamp="2026-12-01T08:00:00.000000Z",
                       status=200, content_type="text/html", digest="sha256:" + "a" * 64,
                       payload_digest="sha256:" + "b" * 64, warc="vigil-1.warc.gz", offset=0,
                       length=900, etag='W/"v1"', record_id="<urn:uuid:1>")])
    (original,) = index.history("http://127.0.0.2/story/")
    # nginx: the 200 of a page it gzips says W/"v1", the 304 to If-None-Match "v1".
    strong = replace(original, timestamp="2026-12-02T08:00:00.000000Z", status=304,
                     revisit=True, refers_to=original.id, offset=900, etag='"v1"',
                     record_id=None, id=None)
    other = replace(strong, timestamp="2026-12-03T08:00:00.000000Z", offset=1500,
                    etag='"v2"')
    index.add([strong, other])
    rows = db.execute("SELECT etag FROM captures WHERE revisit = 1 ORDER BY id").fetchall()
    assert rows == [(None,), ('"v2"',)]
    _, first, second = index.history(original.url)
    assert (first.etag, second.etag) == ('W/"v1"', '"v2"')


def test_a_captures_time_is_stored_as_a_number_read_back_as_its_warc_date_text() -> None:
    from datetime import UTC, datetime

    from sqlite_utils import Database

    from archive.index import CaptureIndex
    from archive.schema import create_schema

    db = Database(memory=True)
    create_schema(db)
    given = ["2026-12-02T04:29:38.689542Z", "2026-01-01T00:00:00Z", "2026-01-01T00:00:01.5Z",
             "2026-01-01T00:00:02.123456789Z", "not a date", "2000"]
    for offset, stamp in enumerate(given):
        db.execute("INSERT INTO captures (url, timestamp, status, warc, offset, length) "
                   "VALUES ('http://127.0.0.2/', ?, 200, 'vigil-1.warc.gz', ?, 1)",
                   [stamp, offset])
    stored = db.execute("SELECT typeof(time_us) FROM capture_rows ORDER BY offset").fetchall()
    assert [kind for (kind,) in stored] == ["integer"] * 4 + ["text"] * 2
    read = [t for (t,) in db.execute("SELECT timestamp FROM captures ORDER BY offset")]
    # A WARC-Date in any of its forms reads back as warc_date's; any other text as it came.
    assert read == ["2026-12-02T04:29:38.689542Z", "2026-01-01T00:00:00.000000Z",
                    "2026-01-01T00:00:01.500000Z", "2026-01-01T00:00:02.123456Z",
                    "not a date", "2000"]
    index = CaptureIndex(db)
    found = index.closest("http://127.0.0.2/", datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC),
                          any_status=True)
    assert found.timestamp == "2026-01-01T00:00:01.500000Z"
    assert [c.timestamp for c in index.history("http://127.0.0.2/")][:4] == sorted(read[:4])
