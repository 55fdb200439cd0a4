"""The archive library on its own: datetimes, decoding, choosing captures, WARC files."""

from __future__ import annotations

import gzip
import hashlib
import random
import subprocess
import sys
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import brotli
import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.index import Capture, CaptureNotFound
from archive.payload import PayloadDecodeError, content_codings, decode_payload
from archive.reader import read_record
from archive.records import HttpExchange, build_exchange_records
from archive.timeutil import InvalidDatetime, parse_datetime, warc_date
from archive.warcfile import RotatingWarcWriter
from crawler.app.store import Store

T0 = datetime(2026, 11, 21, 18, 30, 46, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-21T18:30:46Z", T0),
    ("2026-11-21T19:30:46+01:00", T0),
    ("2026-11-21T18:30:46", T0),
    ("20261121183046", T0),
    ("2026-11-21", datetime(2026, 11, 21, tzinfo=UTC)),
    ("202611", datetime(2026, 11, 1, tzinfo=UTC)),
])
def test_datetimes_are_read_as_iso_dates_or_fourteen_digits(text: str,
                                                             expected: datetime) -> None:
    assert parse_datetime(text) == expected


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "20261340000000", "123"])
def test_an_unreadable_datetime_is_an_error(text: str) -> None:
    with pytest.raises(InvalidDatetime):
        parse_datetime(text)


def test_content_codings_are_undone_last_applied_first() -> None:
    body = b"the statement as published " * 40
    assert decode_payload(gzip.compress(body), ["gzip"]) == body
    assert decode_payload(zlib.compress(body), ["deflate"]) == body
    raw = zlib.compressobj(wbits=-15)
    assert decode_payload(raw.compress(body) + raw.flush(), ["deflate"]) == body
    assert decode_payload(brotli.compress(gzip.compress(body)), ["gzip", "br"]) == body
    assert content_codings(["gzip, identity", "br"]) == ["gzip", "br"]


def test_a_truncated_gzip_body_decodes_to_what_was_received() -> None:
    body = bytes(range(256)) * 400
    packed = gzip.compress(body)
    partial = decode_payload(packed[: len(packed) // 2], ["gzip"])
    assert 0 < len(partial) < len(body) and body.startswith(partial)


def test_a_body_that_is_not_what_its_coding_claims_is_an_error() -> None:
    with pytest.raises(PayloadDecodeError):
        decode_payload(b"plainly not gzip", ["gzip"])
    with pytest.raises(PayloadDecodeError):
        decode_payload(b"x", ["compress"])


def _capture(store: Store, url: str, moment: datetime, status: int = 200) -> None:
    offset = int(moment.timestamp() * 1_000_000)  # a distinct place for each row
    store.captures.add([Capture(url=url, timestamp=warc_date(moment), status=status,
                                content_type="text/html", digest=f"sha256:{moment:%H%M%S%f}",
                                payload_digest=None, warc="w.warc.gz", offset=offset,
                                length=1)])


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "vigil.db")


def test_the_closest_capture_is_chosen_on_either_side(store: Store) -> None:
    url = "http://example.org/a"
    for minutes in (0, 10, 30):
        _capture(store, url, T0 + timedelta(minutes=minutes))
    pick = lambda at: store.captures.closest(url, at).moment  # noqa: E731
    assert pick(T0 + timedelta(minutes=4)) == T0
    assert pick(T0 + timedelta(minutes=6)) == T0 + timedelta(minutes=10)
    assert pick(T0 + timedelta(minutes=25)) == T0 + timedelta(minutes=30)
    assert pick(T0 - timedelta(days=3)) == T0
    assert pick(T0 + timedelta(days=3)) == T0 + timedelta(minutes=30)
    assert store.captures.closest(url).moment == T0 + timedelta(minutes=30)


def test_a_tie_goes_to_the_earlier_capture(store: Store) -> None:
    url = "http://example.org/a"
    _capture(store, url, T0)
    _capture(store, url, T0 + timedelta(minutes=10))
    assert store.captures.closest(url, T0 + timedelta(minutes=5)).moment == T0


def test_captures_in_the_same_second_stay_distinct_and_ordered(store: Store) -> None:
    url = "http://example.org/a"
    _capture(store, url, T0 + timedelta(microseconds=700))
    _capture(store, url, T0 + timedelta(microseconds=200))
    history = store.captures.history(url)
    assert [c.moment.microsecond for c in history] == [200, 700]
    assert store.captures.closest(url, T0 + timedelta(microseconds=600)).moment.microsecond \
        == 700


def test_only_2xx_captures_answer_unless_any_status(store: Store) -> None:
    url = "http://example.org/a"
    _capture(store, url, T0)
    _capture(store, url, T0 + timedelta(minutes=10), status=404)
    assert store.captures.closest(url).status == 200
    assert store.captures.closest(url, any_status=True).status == 404
    with pytest.raises(CaptureNotFound):
        store.captures.closest("http://example.org/never")


def _exchange(n: int, size: int) -> HttpExchange:
    return HttpExchange(
        url=f"http://example.org/{n}?q=1", method="GET",
        request_headers=[("Host", "example.org")], request_body=b"", protocol="HTTP/1.1",
        status=200, reason="OK", response_headers=[("Content-Type", "application/octet-stream")],
        body=random.Random(n).randbytes(size), date=T0, ip_address="127.0.0.2")


@pytest.mark.parametrize("level", [1, 3, 4, 9])
def test_every_gzip_level_writes_one_valid_member_per_record(tmp_path: Path, level: int) -> None:
    # Levels 1-3 are ISA-L's, 4-9 zlib's: both must give plain gzip members.
    writer = RotatingWarcWriter(tmp_path, {"software": "test"}, gzip_level=level)
    text = b"<p>" + b"the council report on the levee " * 2000 + b"</p>"
    exchange = HttpExchange(
        url="http://example.org/page", method="GET", request_headers=[("Host", "example.org")],
        request_body=b"", protocol="HTTP/1.1", status=200, reason="OK",
        response_headers=[("Content-Type", "text/html")], body=text, date=T0)
    located = writer.write(*build_exchange_records(writer.builder, exchange))
    writer.close()
    path = tmp_path / writer.closed_files[0]
    check = subprocess.run([sys.executable, "-m", "warcio.cli", "check", str(path)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    data = path.read_bytes()
    for where in located:
        member = data[where.offset:where.offset + where.length]
        inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
        inflater.decompress(member)
        assert inflater.eof and not inflater.unused_data, "exactly one gzip member"
        assert hashlib.sha256(member).hexdigest() == where.member_sha256
    assert read_record(tmp_path, located[0].warc, located[0].offset).payload() == text
    assert located[0].length < len(text) / 5, "the page is compressed"


def test_files_rotate_at_their_size_each_valid_and_opening_with_warcinfo(tmp_path: Path) -> None:
    writer = RotatingWarcWriter(tmp_path, {"software": "test"}, max_size=20_000)
    locations = []
    for n in range(12):
        locations.append(writer.write(*build_exchange_records(writer.builder,
                                                              _exchange(n, 50_000)))[0])
        assert list(tmp_path.glob("*.open")), "a file being written is marked open"
    writer.close()
    assert not list(tmp_path.glob("*.open"))
    assert len(writer.closed_files) > 1
    for name in writer.closed_files:
        path = tmp_path / name
        result = subprocess.run([sys.executable, "-m", "warcio.cli", "check", str(path)],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stdout
        with open(path, "rb") as handle:
            assert next(iter(ArchiveIterator(handle))).rec_type == "warcinfo"
        assert writer.closed_sha256[name] == hashlib.sha256(path.read_bytes()).hexdigest()
    for n, located in enumerate(locations):
        record = read_record(tmp_path, located.warc, located.offset)
        assert record.payload() == random.Random(n).randbytes(50_000)
        assert record.warc_header("WARC-IP-Address") == "127.0.0.2"


def test_a_forked_child_still_writes_records_compressed_in_the_background(
        tmp_path: Path) -> None:
    import os
    import signal
    import time

    def write_one(directory: Path) -> None:
        writer = RotatingWarcWriter(directory, {"software": "test"})
        writer.write(*build_exchange_records(writer.builder, _exchange(1, 100_000)))
        writer.close()

    write_one(tmp_path / "parent")  # starts the compression thread in this process
    pid = os.fork()
    if pid == 0:  # the child: the parent's thread is not here
        try:
            write_one(tmp_path / "child")
        finally:
            os._exit(0)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done, _status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the child hung waiting for a thread it does not have")
    assert len(list((tmp_path / "child").glob("*.warc.gz"))) == 1


def test_a_large_cdxj_index_is_merged_from_sorted_runs_into_one_sorted_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import archive.cdxj as cdxj

    monkeypatch.setattr(cdxj, "_RUN", 4)
    lines = [f"org,example)/{n % 7} 2026{n:010d} {{}}\n" for n in range(23)] * 2
    random.Random(5).shuffle(lines)
    out = cdxj.write_lines(iter(lines), "x.warc.gz", tmp_path)
    assert out.read_text(encoding="utf-8").splitlines(keepends=True) == sorted(lines)
    assert [p.name for p in tmp_path.iterdir()] == ["x.warc.gz.cdxj"]  # no run left behind
