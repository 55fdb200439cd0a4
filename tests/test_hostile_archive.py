"""Hostile records in the archive: bombs and brotli bodies are data to every reader."""

from __future__ import annotations

import gzip
import hashlib
import subprocess
import sys
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import brotli
import pytest
from bombs import MIB, brotli_bomb, gzip_bomb

from archive.export import select, write_subset
from archive.payload import (
    DecodeCapExceeded,
    is_stored_digest,
    sha256_digest,
    stored_sha256_label,
)
from archive.reader import StoredRecord, read_record, stream_payload
from archive.records import HttpExchange, build_exchange_records
from archive.recovery import complete_members
from archive.reindex import Reindexer
from archive.verify import verify_archive
from archive.warcfile import RotatingWarcWriter
from crawler.app.store import Store

T0 = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
PAGE = b"<html><p>" + b"the minutes of the flood committee " * 3000 + b"</p></html>"


def _exchange(path: str, body: bytes, coding: str | None) -> HttpExchange:
    headers = [("Content-Type", "text/html")]
    if coding:
        headers.append(("Content-Encoding", coding))
    return HttpExchange(
        url=f"http://127.0.0.1/{path}", method="GET", request_headers=[("Host", "127.0.0.1")],
        request_body=b"", protocol="HTTP/1.1", status=200, reason="OK",
        response_headers=headers, body=body, date=T0, ip_address="127.0.0.1")


def _write(warc_dir: Path, exchanges: list[HttpExchange]) -> list[str]:
    writer = RotatingWarcWriter(warc_dir, {"software": "test"})
    for exchange in exchanges:
        writer.write(*build_exchange_records(writer.builder, exchange))
    writer.close()
    return list(writer.closed_files)


BOMBS = {
    "gzip-bomb": (gzip_bomb(1024), "gzip"),  # 1 GiB of zeros in about 1 MB
    "brotli-bomb": (brotli_bomb(512), "br"),  # 512 MiB in under 2 KB
    "nested-bomb": (gzip.compress(gzip_bomb(1024)), "gzip, gzip"),
}


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Store, Path]:
    """A WARC holding a plain page and three bombs, and an empty index."""
    warc_dir = tmp_path / "warcs"
    warc_dir.mkdir()
    _write(warc_dir, [_exchange("page", gzip.compress(PAGE), "gzip")]
           + [_exchange(name, body, coding) for name, (body, coding) in BOMBS.items()])
    return Store.open(tmp_path / "vigil.db"), warc_dir


def test_bomb_records_are_indexed_marked_and_reindex_completes_on_every_run(
        hostile: tuple[Store, Path]) -> None:
    store, warc_dir = hostile
    tracemalloc.start()
    try:
        first = Reindexer(store.captures, warc_dir).run()
        second = Reindexer(store.captures, warc_dir).run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (first.added, first.undecoded, first.unreadable) == (4, 3, 0)
    assert (second.added, second.removed) == (0, 0), "the second run finds nothing to do"
    assert peak < 32 * MIB, f"reindex held {peak} bytes"
    rows = {c.url.rsplit("/", 1)[1]: c for c in store.captures.all()}
    assert rows["page"].digest == sha256_digest(PAGE) and rows["page"].size == len(PAGE)
    for name, (body, _) in BOMBS.items():
        row = rows[name]
        assert is_stored_digest(row.digest), name
        assert row.digest == stored_sha256_label(hashlib.sha256(body).digest())
        assert row.size == len(body)
        record = read_record(warc_dir, row.warc, row.offset)
        assert record.body == body, "archived as received"
        with pytest.raises(DecodeCapExceeded):
            record.payload()


def test_the_same_bomb_is_marked_alike_by_a_fresh_index(hostile: tuple[Store, Path],
                                                         tmp_path: Path) -> None:
    store, warc_dir = hostile
    Reindexer(store.captures, warc_dir).run()
    again = Store.open(tmp_path / "again.db")
    assert Reindexer(again.captures, warc_dir).run().undecoded == 3
    assert sorted(c.digest for c in again.captures.all()) == \
        sorted(c.digest for c in store.captures.all())


def test_verify_checks_bomb_records_on_their_stored_bytes_in_bounded_memory(
        hostile: tuple[Store, Path]) -> None:
    store, warc_dir = hostile
    Reindexer(store.captures, warc_dir).run()
    tracemalloc.start()
    try:
        problems = verify_archive(store.captures, warc_dir)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert problems == []
    assert peak < 48 * MIB, f"verify held {peak} bytes"


def test_a_damaged_bomb_record_is_a_reported_problem_not_a_traceback(
        hostile: tuple[Store, Path]) -> None:
    store, warc_dir = hostile
    Reindexer(store.captures, warc_dir).run()
    bomb = next(c for c in store.captures.all() if c.url.endswith("/gzip-bomb"))
    path = warc_dir / bomb.warc
    data = bytearray(path.read_bytes())
    middle = bomb.offset + bomb.length // 2
    data[middle:middle + 64] = bytes(64)
    path.write_bytes(bytes(data))
    problems = verify_archive(store.captures, warc_dir)
    assert problems, "the damage is found"
    assert {p.url for p in problems} >= {bomb.url}
    assert all(p.file == bomb.warc for p in problems)
    assert all(len(p.problem) < 300 for p in problems), "one readable line each"


def test_verify_says_when_a_payload_is_past_the_cap_it_is_given(
        hostile: tuple[Store, Path]) -> None:
    store, warc_dir = hostile
    Reindexer(store.captures, warc_dir).run()
    problems = verify_archive(store.captures, warc_dir, decode_cap=len(PAGE) - 1)
    assert [(p.url, "not decoded" in p.problem) for p in problems] == \
        [("http://127.0.0.1/page", True)]


def test_an_export_of_bomb_captures_copies_their_records_as_stored(
        hostile: tuple[Store, Path], tmp_path: Path) -> None:
    store, warc_dir = hostile
    Reindexer(store.captures, warc_dir).run()
    out = tmp_path / "export.warc.gz"
    copied = write_subset(select(store.captures, store.captures.all()), warc_dir, out,
                          {"software": "test"})
    assert copied == 8, "four responses, each with its request"
    exported = Store.open(tmp_path / "exported.db")
    (tmp_path / "out").mkdir()
    out.rename(tmp_path / "out" / out.name)
    report = Reindexer(exported.captures, tmp_path / "out").run()
    assert (report.added, report.undecoded) == (4, 3)


def test_the_records_of_a_large_body_are_judged_without_holding_it(tmp_path: Path) -> None:
    # 64 MB of zeros sent as identity: its record inflates a thousandfold from disk.
    warc_dir = tmp_path / "warcs"
    warc_dir.mkdir()
    [name] = _write(warc_dir, [_exchange("zeros", bytes(64 * MIB), None)])
    tracemalloc.start()
    try:
        members = list(complete_members(warc_dir / name))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(members) == 3, "warcinfo, response, request"
    assert peak < 8 * MIB, peak


def _brotli_warc(warc_dir: Path) -> Path:
    [name] = _write(warc_dir, [_exchange("br", brotli.compress(PAGE), "br")])
    return warc_dir / name


def test_a_brotli_record_passes_warcio_check_with_the_fixed_reader(tmp_path: Path) -> None:
    path = _brotli_warc(tmp_path)
    check = subprocess.run([sys.executable, "-m", "archive.warcio_brotli", "check", "-v",
                            str(path)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count("digest pass") == 3


def test_a_brotli_record_passes_the_plain_warcio_check(tmp_path: Path) -> None:
    """warcio 1.8.1 wraps brotli >= 1.2 as if it were brotlipy (AttributeError on
    unused_data, webrecorder/warcio#73); in the project's environment the .pth hook
    make install writes (archive/warcio_hook.py) gives it the working reader."""
    path = _brotli_warc(tmp_path)
    warcio = Path(sys.executable).with_name("warcio")
    for command in ([str(warcio)], [sys.executable, "-m", "warcio.cli"]):
        check = subprocess.run([*command, "check", "-v", str(path)], capture_output=True,
                               text=True, timeout=60, cwd=tmp_path)
        assert check.returncode == 0, check.stdout + check.stderr
        assert check.stdout.count("digest pass") == 3, check.stdout


def test_without_the_hook_warcio_still_cannot_read_brotli(tmp_path: Path) -> None:
    """When this fails, warcio reads brotli itself: the hook and archive/warcio_brotli.py
    can go."""
    path = _brotli_warc(tmp_path)
    check = subprocess.run([sys.executable, "-c", "import sys; sys.argv[1:] = "
                            f"['check', {str(path)!r}]; "
                            "sys.meta_path[:] = [f for f in sys.meta_path "
                            "if type(f).__name__ != '_WarcioReaders']; "
                            "from warcio.cli import main; main()"],
                           capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert check.returncode != 0 and "unused_data" in check.stderr, check.stderr


def test_vigil_verifies_a_brotli_record_without_a_traceback(tmp_path: Path) -> None:
    warc_dir = tmp_path / "warcs"
    warc_dir.mkdir()
    _brotli_warc(warc_dir)
    store = Store.open(tmp_path / "vigil.db")
    Reindexer(store.captures, warc_dir).run()
    [row] = store.captures.all()
    assert row.digest == sha256_digest(PAGE)
    assert read_record(warc_dir, row.warc, row.offset).payload() == PAGE
    assert verify_archive(store.captures, warc_dir) == []


def _record(body: bytes, coding: str) -> StoredRecord:
    return StoredRecord(rec_type="response", target_uri="http://127.0.0.1/x", warc_headers=[],
                        status=200, http_headers=[("Content-Encoding", coding)], body=body)


def test_a_body_that_does_not_decode_as_labelled_is_its_own_payload() -> None:
    for body, coding in [(b"not gzip at all", "gzip"), (gzip.compress(b"x"), "gzip, " * 1000),
                         (b"\x00" * 10, "br"), (b"plain", "compress")]:
        record = _record(body, coding)
        assert record.payload() == body
        assert b"".join(record.payload_chunks()) == body
        assert record.payload_sha256() == (hashlib.sha256(body).digest(), len(body))


def test_a_bombs_payload_streams_up_to_the_cap_then_raises_the_named_error() -> None:
    record = _record(gzip_bomb(64), "gzip")
    given = 0
    with pytest.raises(DecodeCapExceeded) as raised:
        for piece in record.payload_chunks(cap=8 * MIB):
            given += len(piece)
    assert raised.value.cap == 8 * MIB
    assert 7 * MIB < given <= 8 * MIB
    with pytest.raises(DecodeCapExceeded):
        record.payload_sha256(cap=8 * MIB)
    assert len(record.payload(cap=64 * MIB)) == 64 * MIB, "under a higher cap it decodes"


def test_a_memento_streams_from_its_file_never_holding_body_or_payload_whole(
        hostile: tuple[Store, Path]) -> None:
    store, warc_dir = hostile
    Reindexer(store.captures, warc_dir).run()
    rows = {c.url.rsplit("/", 1)[1]: c for c in store.captures.all()}
    page = rows["page"]
    assert b"".join(stream_payload(warc_dir, page.warc, page.offset)) == PAGE
    bomb = rows["nested-bomb"]
    given = 0
    tracemalloc.start()
    try:
        with pytest.raises(DecodeCapExceeded):
            for piece in stream_payload(warc_dir, bomb.warc, bomb.offset, cap=64 * MIB):
                given += len(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert 63 * MIB < given <= 64 * MIB
    assert peak < 8 * MIB, f"held {peak} bytes"


def test_a_streamed_memento_that_does_not_decode_as_labelled_comes_as_stored(
        tmp_path: Path) -> None:
    [name] = _write(tmp_path, [_exchange("liar", PAGE, "gzip")])
    store = Store.open(tmp_path / "vigil.db")
    Reindexer(store.captures, tmp_path).run()
    [row] = store.captures.all()
    assert b"".join(stream_payload(tmp_path, name, row.offset)) == PAGE
    assert row.digest == sha256_digest(PAGE)
