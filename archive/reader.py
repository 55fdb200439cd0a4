"""Read one record back from a WARC at a known offset, and its decoded payload."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from archive.payload import (
    DEFAULT_DECODE_CAP,
    DecodeCapExceeded,
    PayloadDecodeError,
    content_codings,
    decode_payload,
    iter_decoded,
)
from archive.warcfile import resolve_warc_path

log = logging.getLogger(__name__)

# How much of a stored body ``stream_payload`` reads from its file at a time.
_READ = 1 << 16


class RecordNotFound(LookupError):
    """No WARC record where the index says one is."""


@dataclass(frozen=True)
class StoredRecord:
    """A record's headers and its body as stored (still content-encoded)."""

    rec_type: str
    target_uri: str
    warc_headers: list[tuple[str, str]]
    status: int | None
    http_headers: list[tuple[str, str]]
    body: bytes

    def warc_header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.warc_headers if k.lower() == lowered), None)

    def http_header_values(self, name: str) -> list[str]:
        lowered = name.lower()
        return [v for k, v in self.http_headers if k.lower() == lowered]

    def codings(self) -> list[str]:
        return content_codings(self.http_header_values("Content-Encoding"))

    def payload(self, cap: int = DEFAULT_DECODE_CAP) -> bytes:
        """The body with its content codings removed: what the server meant. Raises
        DecodeCapExceeded when that is more than ``cap`` bytes."""
        return decoded_body(self.body, self.http_header_values("Content-Encoding"), cap)

    def payload_chunks(self, cap: int = DEFAULT_DECODE_CAP) -> Iterator[bytes]:
        """The payload in pieces of bounded size, never held whole. A body that does not
        decode as labelled comes as stored, as from ``payload``, unless the damage lies
        past output already given: then PayloadDecodeError. Raises DecodeCapExceeded
        once more than ``cap`` bytes have come."""
        codings = self.codings()
        if not codings:
            yield self.body
            return
        try:
            pieces = iter_decoded((self.body,), codings, cap)
            first = next(pieces, None)
        except DecodeCapExceeded:
            raise
        except PayloadDecodeError as exc:
            log.warning("payload kept as stored: %s", exc)
            yield self.body
            return
        if first is not None:
            yield first
            yield from pieces

    def payload_sha256(self, cap: int = DEFAULT_DECODE_CAP) -> tuple[bytes, int]:
        """(SHA-256, size) of ``payload()``, found without holding the payload whole.
        Raises DecodeCapExceeded as ``payload`` does."""
        codings = self.codings()
        hasher, size = hashlib.sha256(), 0
        if codings:
            try:
                for piece in iter_decoded((self.body,), codings, cap):
                    hasher.update(piece)
                    size += len(piece)
                return hasher.digest(), size
            except DecodeCapExceeded:
                raise
            except PayloadDecodeError as exc:
                log.warning("payload kept as stored: %s", exc)
                hasher = hashlib.sha256()
        hasher.update(self.body)
        return hasher.digest(), len(self.body)


def decoded_body(body: bytes, content_encoding_values: list[str],
                 cap: int = DEFAULT_DECODE_CAP) -> bytes:
    """Decode a body; a body that does not decode as labelled is returned as stored.
    One that decodes to more than ``cap`` bytes raises DecodeCapExceeded: a bomb is
    data to keep, not a payload to hand out."""
    try:
        return decode_payload(body, content_codings(content_encoding_values), cap)
    except DecodeCapExceeded:
        raise
    except PayloadDecodeError as exc:
        log.warning("payload kept as stored: %s", exc)
        return body


def read_record(warc_dir: Path, warc: str, offset: int) -> StoredRecord:
    """Read the record starting at ``offset`` in the named WARC file."""
    path = resolve_warc_path(warc_dir, warc)
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            for record in ArchiveIterator(handle):
                http = record.http_headers
                return StoredRecord(
                    rec_type=record.rec_type,
                    target_uri=record.rec_headers.get_header("WARC-Target-URI") or "",
                    warc_headers=list(record.rec_headers.headers),
                    status=int(http.get_statuscode()) if http and record.rec_type != "request"
                    else None,
                    http_headers=list(http.headers) if http else [],
                    body=record.raw_stream.read(),
                )
    except OSError as exc:
        raise RecordNotFound(f"cannot read {warc} at offset {offset}: {exc}") from exc
    raise RecordNotFound(f"no record in {warc} at offset {offset}")


@contextmanager
def _stored_body(path: Path, offset: int) -> Iterator[tuple[list[str], Iterator[bytes]]]:
    """The content codings of the record at ``offset`` and its body as stored, in chunks
    read from the file as they are asked for."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        record = next(iter(ArchiveIterator(handle)), None)
        if record is None:
            raise RecordNotFound(f"no record in {path.name} at offset {offset}")
        headers = record.http_headers.headers if record.http_headers else []
        codings = content_codings(v for k, v in headers if k.lower() == "content-encoding")
        yield codings, iter(lambda: bytes(record.raw_stream.read(_READ)), b"")


def stream_payload(warc_dir: Path, warc: str, offset: int,
                   cap: int = DEFAULT_DECODE_CAP) -> Iterator[bytes]:
    """The payload of the record at ``offset``, read and decoded piece by piece: neither
    its body nor its payload is ever held whole (a large or hostile memento served).
    Like ``StoredRecord.payload_chunks``: a body that does not decode as labelled comes
    as stored; DecodeCapExceeded once more than ``cap`` bytes have come; RecordNotFound
    as ``read_record``."""
    path = resolve_warc_path(warc_dir, warc)
    try:
        with _stored_body(path, offset) as (codings, chunks):
            if not codings:
                yield from chunks
                return
            try:
                pieces = iter_decoded(chunks, codings, cap)
                first = next(pieces, None)
            except DecodeCapExceeded:
                raise
            except PayloadDecodeError as exc:
                log.warning("payload kept as stored: %s", exc)
            else:
                if first is not None:
                    yield first
                    yield from pieces
                return
        with _stored_body(path, offset) as (_, chunks):  # as stored, from its start
            yield from chunks
    except OSError as exc:
        raise RecordNotFound(f"cannot read {warc} at offset {offset}: {exc}") from exc
