"""Undo HTTP content codings so a payload is exactly the bytes the server meant."""

from __future__ import annotations

import hashlib
import io
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol

import brotli

# The most decoded bytes any coding stage may produce: a payload (or a nested coding's
# inner layer) that would inflate past it is a bomb to this archive, whatever it was
# to its server. Callers pass their own cap (a setting) to override it.
DEFAULT_DECODE_CAP = 200 * 1024 * 1024

# Decoders hand out their output in pieces of about this size, so that how much memory a
# decode holds depends on this, not on how far the body inflates.
_PIECE = 1 << 16

_GZIP_WBITS = zlib.MAX_WBITS | 16

# Codings undone at most: each is one more stage of up to the cap's work, and a header
# naming gzip a thousand times would nest a thousand decoders. Real bodies have one or two.
MAX_CODINGS = 8


class PayloadDecodeError(ValueError):
    """The body does not decode with the content coding its headers claim."""


class DecodeCapExceeded(PayloadDecodeError):
    """Decoding would produce more than ``cap`` bytes: the body is kept as stored, undecoded."""

    def __init__(self, cap: int, codings: Sequence[str]) -> None:
        self.cap = cap
        self.codings = list(codings)
        super().__init__(f"the {', '.join(self.codings)} payload decodes to more than the "
                         f"decode cap of {cap} bytes")


class Writable(Protocol):
    def write(self, data: bytes, /) -> object: ...


def _slices(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The input in slices of at most ``_PIECE`` bytes: zlib copies what a call leaves
    unconsumed, and a bomb leaves nearly all of a large chunk unconsumed every call."""
    for chunk in chunks:
        if len(chunk) <= _PIECE:
            yield chunk
            continue
        view = memoryview(chunk)
        for start in range(0, len(view), _PIECE):
            yield bytes(view[start:start + _PIECE])


def _zlib_pieces(inflater: zlib._Decompress, data: bytes) -> Iterator[bytes]:
    """The output of feeding ``data`` to ``inflater``, at most ``_PIECE`` bytes at a time."""
    while True:
        out = inflater.decompress(data, _PIECE)
        if out:
            yield out
        if inflater.eof:
            return
        data = inflater.unconsumed_tail
        # A full piece with no input left may mean more output is pending: ask again.
        if not data and len(out) < _PIECE:
            return


def _gunzip(chunks: Iterable[bytes]) -> Iterator[bytes]:
    # A body may hold several gzip members; a truncated one (WARC-Truncated) yields
    # what was received, which is what a browser would have shown.
    inflater = zlib.decompressobj(wbits=_GZIP_WBITS)
    first = True
    for chunk in chunks:
        data = chunk
        while data:
            try:
                yield from _zlib_pieces(inflater, data)
            except zlib.error as exc:
                if first:
                    raise PayloadDecodeError(f"bad gzip data: {exc}") from exc
                return  # trailing garbage after a good member: browsers ignore it too
            if not inflater.eof:
                break
            data = inflater.unused_data
            inflater = zlib.decompressobj(wbits=_GZIP_WBITS)
            first = False
    try:
        if tail := inflater.flush():
            yield tail
    except zlib.error as exc:  # a truncated member yields what came before the cut
        if first:
            raise PayloadDecodeError(f"bad gzip data: {exc}") from exc


def _zlib_wrapped(head: bytes) -> bool:
    """Whether a deflate body starts with a zlib header (as specified) rather than
    being raw deflate (as many servers send it)."""
    try:
        zlib.decompressobj(wbits=zlib.MAX_WBITS).decompress(head[:2])
    except zlib.error:
        return False
    return True


def _inflate(chunks: Iterable[bytes]) -> Iterator[bytes]:
    source = iter(chunks)
    head = b""
    for chunk in source:
        head += chunk
        if len(head) >= 2:
            break
    inflater = zlib.decompressobj(
        wbits=zlib.MAX_WBITS if _zlib_wrapped(head) else -zlib.MAX_WBITS)
    try:
        yield from _zlib_pieces(inflater, head)
        for chunk in source:
            if inflater.eof:
                break
            yield from _zlib_pieces(inflater, chunk)
        if tail := inflater.flush():
            yield tail
    except zlib.error as exc:
        raise PayloadDecodeError(f"bad deflate data: {exc}") from exc


def _unbrotli(chunks: Iterable[bytes]) -> Iterator[bytes]:
    # brotli >= 1.2 bounds each call's output; what the limit holds back comes out of
    # calls with no input, until the decoder can take input again.
    decompressor = brotli.Decompressor()
    try:
        for chunk in chunks:
            if not chunk:
                continue
            # Data after the end of the stream is refused here, as brotli refuses it
            # when it comes in the same chunk: the result must not depend on chunking.
            out = decompressor.process(chunk, output_buffer_limit=_PIECE)
            while True:
                if out:
                    yield out
                if decompressor.can_accept_more_data() or decompressor.is_finished():
                    break
                out = decompressor.process(b"", output_buffer_limit=_PIECE)
        # What the decoder still holds once the input is all in (nothing, when cut short).
        while not decompressor.is_finished():
            out = decompressor.process(b"", output_buffer_limit=_PIECE)
            if not out:
                break
            yield out
    except brotli.error as exc:
        raise PayloadDecodeError(f"bad brotli data: {exc}") from exc


_DECODERS: dict[str, Callable[[Iterable[bytes]], Iterator[bytes]]] = {
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


def _capped(pieces: Iterator[bytes], cap: int, codings: Sequence[str]) -> Iterator[bytes]:
    produced = 0
    for piece in pieces:
        produced += len(piece)
        if produced > cap:
            raise DecodeCapExceeded(cap, codings)
        yield piece


def iter_decoded(chunks: Iterable[bytes], codings: Sequence[str],
                 cap: int = DEFAULT_DECODE_CAP) -> Iterator[bytes]:
    """The body (given in chunks) with its content codings removed, last applied first,
    as pieces of bounded size. Raises PayloadDecodeError, or DecodeCapExceeded as soon as
    any stage would produce more than ``cap`` bytes (pieces already given stand)."""
    if len(codings) > MAX_CODINGS:
        raise PayloadDecodeError(f"{len(codings)} content codings: more than {MAX_CODINGS}")
    for coding in codings:
        if coding not in _DECODERS:
            raise PayloadDecodeError(f"unsupported content coding {coding!r}")
    pieces: Iterator[bytes] = _slices(chunks)
    for coding in reversed(codings):
        pieces = _capped(_DECODERS[coding](pieces), cap, codings)
    return pieces


def decode_payload(body: bytes, codings: Sequence[str],
                   cap: int = DEFAULT_DECODE_CAP) -> bytes:
    """Remove content codings, last applied first. Raises PayloadDecodeError, or
    DecodeCapExceeded when the payload would exceed ``cap`` bytes."""
    if not codings:
        return body
    out = io.BytesIO()
    for piece in iter_decoded((body,), codings, cap):
        out.write(piece)
    return out.getvalue()


def decode_to(chunks: Iterable[bytes], codings: Sequence[str], target: Writable,
              cap: int = DEFAULT_DECODE_CAP) -> int:
    """Decode into a file object, never holding the payload whole: the bytes written.
    Raises as ``iter_decoded`` does (what was written before the error stays written)."""
    written = 0
    for piece in iter_decoded(chunks, codings, cap):
        target.write(piece)
        written += len(piece)
    return written


# An index digest of the body as stored, not of the payload: the mark of a capture whose
# payload was too large to decode (DecodeCapExceeded). Labelled apart so that nobody
# takes it for the payload's digest, and so that it still proves the stored bytes.
STORED_SHA256 = "sha256-stored:"


def stored_sha256_label(digest: bytes) -> str:
    """The digest of an undecoded body, as the index holds it for an over-cap capture."""
    return STORED_SHA256 + digest.hex()


def is_stored_digest(label: str) -> bool:
    """Whether an index digest is of the body as stored (its payload was not decoded)."""
    return label.startswith(STORED_SHA256)


def sha256_digest(data: bytes) -> str:
    """``sha256:`` + hex, comparable with the output of ``sha256sum``."""
    return sha256_label(hashlib.sha256(data).digest())


def sha256_label(digest: bytes) -> str:
    """A SHA-256 digest already computed, written as ``sha256_digest`` writes it."""
    return "sha256:" + digest.hex()


def stored_payload_fields(chunks: Callable[[], Iterable[bytes]], codings: Sequence[str],
                          body_sha256: bytes, body_size: int,
                          cap: int = DEFAULT_DECODE_CAP) -> tuple[str, int]:
    """(index digest, size) of a payload whose stored body is read in ``chunks()``, never
    held whole (a body spooled to disk), as ``archive.reindex`` labels one in hand: of the
    payload; of the body as stored (``stored_sha256_label``) past the cap; of the body,
    unlabelled, when it does not decode as its headers claim."""
    if not codings:
        return sha256_label(body_sha256), body_size
    hasher, size = hashlib.sha256(), 0
    try:
        for piece in iter_decoded(chunks(), codings, cap):
            hasher.update(piece)
            size += len(piece)
    except DecodeCapExceeded:
        return stored_sha256_label(body_sha256), body_size
    except PayloadDecodeError:
        return sha256_label(body_sha256), body_size
    return sha256_label(hasher.digest()), size
