"""WARC digest fields: written as ``sha256:`` + lowercase hex, read in any form tools write."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

# WARC 1.1 makes a digest value a token, which excludes "=": padded base32 ("sha256:…====",
# what warcio writes for SHA-256) is outside the grammar (iipc/warc-specifications#48).
# Unpadded base32 is inside it, but warcio's checker takes 52 characters for base64 and
# FastWARC's for an encoding error. Lowercase hex is inside the grammar and every reader
# decodes it: warcio (longer than base32: base16), jwarc (twice the digest's length),
# FastWARC (not base32: unhexlify), and Browsertrix's warcio.js writes it.
SHA256 = "sha256"

_LENGTHS = {"sha1": 20, "sha256": 32, "sha512": 64, "md5": 16}


class UnreadableDigest(ValueError):
    """A digest field in no form we know."""


def warc_sha256(digest: bytes) -> str:
    """The WARC digest field for a SHA-256 digest."""
    return f"{SHA256}:{digest.hex()}"


def parse_digest(field: str) -> tuple[str, bytes]:
    """(algorithm, digest bytes) from a digest field in hex, base32 (padded or not) or
    base64, as WARC files in the wild hold them."""
    algorithm, sep, value = field.strip().partition(":")
    algorithm = algorithm.lower().replace("-", "")
    if not sep or not value:
        raise UnreadableDigest(f"not a labelled digest: {field!r}")
    size = _LENGTHS.get(algorithm)
    try:
        if size is not None and len(value) == 2 * size:
            return algorithm, bytes.fromhex(value)
        if size is None or len(value.rstrip("=")) >= -(-size * 8 // 5):
            padded = value.upper() + "=" * (-len(value) % 8)
            return algorithm, base64.b32decode(padded)
        alphabet = b"-_" if "-" in value or "_" in value else None
        padded = value + "=" * (-len(value) % 4)
        return algorithm, base64.b64decode(padded, altchars=alphabet, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise UnreadableDigest(f"not a digest value: {field!r}") from exc


def same_digest(a: str | None, b: str | None) -> bool:
    """Whether two digest fields name the same digest, whatever their encodings."""
    if not a or not b:
        return False
    if a == b:
        return True
    try:
        return parse_digest(a) == parse_digest(b)
    except UnreadableDigest:
        return False


def normalized(field: str) -> str:
    """A SHA-256 digest field in the form vigil writes (others as they are)."""
    try:
        algorithm, digest = parse_digest(field)
    except UnreadableDigest:
        return field
    return warc_sha256(digest) if algorithm == SHA256 else field


class HexDigester:
    """A warcio digester whose field is ``sha256:`` + hex (warcio's writes padded base32),
    for the records warcio's builder digests itself (warcinfo, revisit blocks)."""

    def __init__(self, type_: str = SHA256) -> None:
        self.type_ = type_
        self.digester: Any = hashlib.new(type_)

    def update(self, buff: bytes) -> None:
        self.digester.update(buff)

    def __str__(self) -> str:
        return f"{self.type_}:{self.digester.hexdigest()}"
