"""`vigil get` writes a payload as it reads it, and says why when it cannot decode one."""

from __future__ import annotations

import gzip
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from bombs import MIB, gzip_bomb
from recaptured import start_serve

from archive.records import HttpExchange, build_exchange_records
from archive.warcfile import RotatingWarcWriter
from conftest import Vigil

T0 = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
PAGE = b"<html><p>" + b"the minutes of the flood committee " * 3000 + b"</p></html>"


def _home_with(tmp_path: Path, **bodies: bytes) -> Vigil:
    vigil = Vigil(tmp_path / "home")
    vigil.run("init")
    writer = RotatingWarcWriter(vigil.home / "warcs", {"software": "test"})
    for name, body in bodies.items():
        writer.write(*build_exchange_records(writer.builder, HttpExchange(
            url=f"http://127.0.0.1/{name}", method="GET",
            request_headers=[("Host", "127.0.0.1")], request_body=b"", protocol="HTTP/1.1",
            status=200, reason="OK", body=body, date=T0, ip_address="127.0.0.1",
            response_headers=[("Content-Type", "text/html"), ("Content-Encoding", "gzip")])))
    writer.close()
    vigil.run("reindex")
    return vigil


def test_get_writes_the_decoded_payload_to_the_file_named(tmp_path: Path) -> None:
    vigil = _home_with(tmp_path, page=gzip.compress(PAGE))
    out = tmp_path / "page.html"
    vigil.run("get", "http://127.0.0.1/page", "-o", str(out))
    assert out.read_bytes() == PAGE
    assert vigil.run("get", "http://127.0.0.1/page").stdout == PAGE


def test_get_of_a_bomb_says_why_in_one_line_and_leaves_no_file(tmp_path: Path) -> None:
    vigil = _home_with(tmp_path, bomb=gzip_bomb(300))  # 300 MiB of zeros: past the cap
    out = tmp_path / "bomb.html"
    result = vigil.run("get", "http://127.0.0.1/bomb", "-o", str(out), ok=False)
    assert result.returncode == 1
    assert b"decode cap" in result.stderr and b"Traceback" not in result.stderr
    assert not out.exists() and not out.with_name("bomb.html.part").exists()


def _high_water_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines()
                    if line.startswith("VmHWM:")))


def test_the_id_memento_of_a_100_mb_payload_streams_and_other_requests_are_answered(
        tmp_path: Path) -> None:
    big = b"0123456789abcdef" * (100 * MIB // 16)
    vigil = _home_with(tmp_path, big=gzip.compress(big, 1), bomb=gzip_bomb(300))
    server, port = start_serve(vigil)
    try:
        base = f"http://127.0.0.1:{port}"
        before = _high_water_kb(server.pid)
        with urllib.request.urlopen(f"{base}/web/20261201200000id_/http://127.0.0.1/big",
                                    timeout=60) as reply:
            got = len(reply.read(MIB))
            # Mid-stream, the app answers another request.
            with urllib.request.urlopen(f"{base}/timemap/json/http://127.0.0.1/bomb",
                                        timeout=30) as other:
                assert other.status == 200
            while chunk := reply.read(MIB):
                got += len(chunk)
        assert got == len(big)
        grown = _high_water_kb(server.pid) - before
        assert grown < 64 * 1024, f"serve grew by {grown} KB to give a 100 MB payload"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{base}/web/20261201200000id_/http://127.0.0.1/bomb",
                                   timeout=60)
        assert refused.value.code == 422
        assert b"decode cap" in refused.value.read()
    finally:
        server.terminate()
        server.wait(timeout=30)
