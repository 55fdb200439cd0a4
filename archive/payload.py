"""Undo HTTP content codings so a payload is exactly the bytes the server meant."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable

import brotli


class PayloadDecodeError(ValueError):
    """The body does not decode with the content coding its headers claim."""


def _gunzip(data: bytes) -> bytes:
    # A body may hold several gzip members; a truncated one (WARC-Truncated) yields
    # what was received, which is what a browser would have shown.
    out = bytearray()
    first = True
    while data:
        inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
        try:
            out += inflater.decompress(data)
            out += inflater.flush()
        except zlib.error as exc:
            if first:
                raise PayloadDecodeError(f"bad gzip data: {exc}") from exc
            break  # trailing garbage after a good member: browsers ignore it too
        first = False
        data = inflater.unused_data
    return bytes(out)


def _inflate(data: bytes) -> bytes:
    # "deflate" is specified as zlib-wrapped, but servers often send raw deflate.
    for wbits in (zlib.MAX_WBITS, -zlib.MAX_WBITS):
        inflater = zlib.decompressobj(wbits=wbits)
        try:
            return inflater.decompress(data) + inflater.flush()
        except zlib.error:
            continue
    raise PayloadDecodeError("bad deflate data")


def _unbrotli(data: bytes) -> bytes:
    try:
        return bytes(brotli.Decompressor().process(data))
    except brotli.error as exc:
        raise PayloadDecodeError(f"bad brotli data: {exc}") from exc


_DECODERS = {
    "gzip": _gunzip,
    "x-gzip": _gunzip,
    "deflate": _inflate,
    "br": _unbrotli,
}


def content_codings(header_values: Iterable[str]) -> list[str]:
    """The codings named by every Content-Encoding header, in the order applied."""
    codings: list[str] = []
    for value in header_values:
        codings.extend(c.strip().lower() for c in value.split(",") if c.strip())
    return [c for c in codings if c != "identity"]


def decode_payload(body: bytes, codings: list[str]) -> bytes:
    """Remove content codings, last applied first. Raises PayloadDecodeError."""
    for coding in reversed(codings):
        decoder = _DECODERS.get(coding)
        if decoder is None:
            raise PayloadDecodeError(f"unsupported content coding {coding!r}")
        body = decoder(body)
    return body


def sha256_digest(data: bytes) -> str:
    """``sha256:`` + hex, comparable with the output of ``sha256sum``."""
    return sha256_label(hashlib.sha256(data).digest())


def sha256_label(digest: bytes) -> str:
    """A SHA-256 digest already computed, written as ``sha256_digest`` writes it."""
    return "sha256:" + digest.hex()
