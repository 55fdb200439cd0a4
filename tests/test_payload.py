"""Decoding payloads against hostile bodies: bombs stop at the decode cap in bounded memory."""

from __future__ import annotations

import gzip
import io
import json
import random
import subprocess
import sys
import tracemalloc
import zlib

import brotli
import pytest
from bombs import MIB, brotli_bomb, deflate_bomb, gzip_bomb

from archive.payload import (
    MAX_CODINGS,
    DecodeCapExceeded,
    PayloadDecodeError,
    decode_payload,
    decode_to,
    iter_decoded,
)


def test_the_bomb_builders_make_real_bombs() -> None:
    assert gzip.decompress(gzip_bomb(3)) == bytes(3 * MIB)
    assert zlib.decompress(deflate_bomb(3)) == bytes(3 * MIB)
    assert brotli.decompress(brotli_bomb(3)) == bytes(3 * MIB)
    assert len(gzip_bomb(1024)) < 1.1 * MIB
    assert len(brotli_bomb(512)) < 2048


_MEASURE = """
import json, resource, sys, time
sys.path.insert(0, {tests!r})
import gzip
from bombs import brotli_bomb, deflate_bomb, gzip_bomb
from archive.payload import DecodeCapExceeded, decode_payload, iter_decoded
kind = {kind!r}
body, codings = {{
    "gzip": lambda: (gzip_bomb(1024), ["gzip"]),
    "deflate": lambda: (deflate_bomb(1024), ["deflate"]),
    "br": lambda: (brotli_bomb(512), ["br"]),
    "gzip, gzip": lambda: (gzip.compress(gzip_bomb(1024)), ["gzip", "gzip"]),
}}[kind]()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.monotonic()
outcome = {{}}
try:
    decode_payload(body, codings, cap=16 << 20)  # collected whole: holds at most the cap
except DecodeCapExceeded as exc:
    outcome["collected"] = exc.cap
streamed = 0
try:
    for piece in iter_decoded([body], codings):  # the default 200 MB cap, piece by piece
        streamed += len(piece)
except DecodeCapExceeded as exc:
    outcome["streamed"], outcome["cap"] = streamed, exc.cap
outcome["seconds"] = time.monotonic() - started
outcome["grown_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps(outcome))
"""


@pytest.mark.parametrize("kind", ["gzip", "deflate", "br", "gzip, gzip"])
def test_a_bomb_stops_at_the_decode_cap_in_bounded_memory(kind: str) -> None:
    # A fresh process, so that its peak RSS is this decode's and nobody else's.
    from pathlib import Path

    script = _MEASURE.format(tests=str(Path(__file__).parent), kind=kind)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["collected"] == 16 << 20
    assert outcome["cap"] == 200 * MIB
    assert 199 * MIB < outcome["streamed"] <= 200 * MIB, "every piece up to the cap came"
    # The collected decode holds up to its 16 MB cap; streaming holds a piece at a time.
    assert outcome["grown_kib"] < 48 * 1024, outcome
    assert outcome["seconds"] < 5, outcome


def test_a_payload_of_exactly_the_cap_decodes_and_one_byte_more_does_not() -> None:
    body = bytes(range(256)) * 4096  # 1 MiB
    packed = gzip.compress(body)
    assert decode_payload(packed, ["gzip"], cap=len(body)) == body
    with pytest.raises(DecodeCapExceeded) as raised:
        decode_payload(packed, ["gzip"], cap=len(body) - 1)
    assert raised.value.cap == len(body) - 1 and raised.value.codings == ["gzip"]
    assert isinstance(raised.value, PayloadDecodeError)


def test_the_inner_layer_of_nested_codings_is_capped_too() -> None:
    inner = gzip_bomb(64)
    with pytest.raises(DecodeCapExceeded):
        decode_payload(brotli.compress(inner), ["gzip", "br"], cap=8 * MIB)
    assert decode_payload(brotli.compress(gzip.compress(b"fine")), ["gzip", "br"]) == b"fine"


def test_a_streamed_decode_hands_out_small_pieces_and_never_holds_the_payload() -> None:
    body = brotli.compress(bytes(64 * MIB), quality=1)
    tracemalloc.start()
    try:
        sizes = [len(piece) for piece in iter_decoded([body], ["br"])]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sum(sizes) == 64 * MIB
    assert max(sizes) <= 2 * 65536
    assert peak < len(body) + 4 * MIB, peak


def test_decode_to_writes_a_payload_to_a_file_object_piece_by_piece() -> None:
    text = b"<p>the council minutes, page after page</p>\n" * 200_000
    body = gzip.compress(text)
    target = io.BytesIO()
    chunks = [body[i:i + 1000] for i in range(0, len(body), 1000)]  # as read from a socket
    assert decode_to(chunks, ["gzip"], target) == len(text)
    assert target.getvalue() == text
    with pytest.raises(DecodeCapExceeded):
        decode_to([gzip_bomb(64)], ["gzip"], io.BytesIO(), cap=MIB)


_NOISE = random.Random(15).randbytes(4000)


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(("body", "codings", "expected"), [
    (gzip.compress(b"one") + gzip.compress(b" two"), ["gzip"], b"one two"),
    (gzip.compress(b"one two") + b"\x00 trailing garbage", ["gzip"], b"one two"),
    (gzip.compress(_NOISE)[:-1000], ["gzip"], _NOISE),  # cut short: what came before the cut
    (zlib.compress(b"one two"), ["deflate"], b"one two"),
    (_raw_deflate(b"one two"), ["deflate"], b"one two"),
    (brotli.compress(gzip.compress(b"one two")), ["gzip", "br"], b"one two"),
], ids=["two-members", "trailing-garbage", "cut-short", "zlib", "raw-deflate", "gzip-br"])
def test_the_tolerant_decodings_still_hold_when_the_body_comes_in_small_chunks(
        body: bytes, codings: list[str], expected: bytes) -> None:
    whole = decode_payload(body, codings)
    assert expected.startswith(whole) and len(whole) >= len(expected) - 1100
    assert b"".join(iter_decoded([body[i:i + 3] for i in range(0, len(body), 3)],
                                 codings)) == whole


def test_bytes_after_the_end_of_a_brotli_stream_are_refused_however_they_arrive() -> None:
    body = brotli.compress(b"hello") + b"more"
    with pytest.raises(PayloadDecodeError):
        decode_payload(body, ["br"])
    with pytest.raises(PayloadDecodeError):
        b"".join(iter_decoded([body[:-4], body[-4:]], ["br"]))


def test_a_thousand_codings_are_refused_as_undecodable_not_a_recursion() -> None:
    codings = ["gzip"] * 1000
    with pytest.raises(PayloadDecodeError, match="more than"):
        decode_payload(gzip.compress(b"x"), codings)
    nested = b"deep"
    for _ in range(MAX_CODINGS):
        nested = gzip.compress(nested)
    assert decode_payload(nested, ["gzip"] * MAX_CODINGS) == b"deep"
