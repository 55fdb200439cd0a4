"""Decompression bombs built in a moment, for the tests of hostile payloads."""

from __future__ import annotations

import zlib

import brotli

MIB = 1 << 20


def raw_deflate_zeros(mib: int) -> bytes:
    """Raw deflate of ``mib`` MiB of zeros in about a kilobyte per MiB, made at once: a
    full flush resets the compressor, so every MiB compresses to the same bytes."""
    one = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = one.compress(bytes(MIB)) + one.flush(zlib.Z_FULL_FLUSH)
    return block * mib + zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS).flush()


def gzip_bomb(mib: int) -> bytes:
    """A valid gzip member of ``mib`` MiB of zeros (1 GiB: about 1 MB)."""
    crc, zeros = 0, bytes(MIB)
    for _ in range(mib):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = crc.to_bytes(4, "little") + ((mib * MIB) % (1 << 32)).to_bytes(4, "little")
    return header + raw_deflate_zeros(mib) + trailer


def deflate_bomb(mib: int) -> bytes:
    """A zlib-wrapped deflate body of ``mib`` MiB of zeros."""
    adler, zeros = 1, bytes(MIB)
    for _ in range(mib):
        adler = zlib.adler32(zeros, adler)
    return b"\x78\xda" + raw_deflate_zeros(mib) + adler.to_bytes(4, "big")


def brotli_bomb(mib: int) -> bytes:
    """Brotli of ``mib`` MiB of zeros (512 MiB: under 2 KB)."""
    compressor, zeros = brotli.Compressor(quality=2), bytes(MIB)
    return b"".join([compressor.process(zeros) for _ in range(mib)] + [compressor.finish()])
