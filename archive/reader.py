"""Read one record back from a WARC at a known offset, and its decoded payload."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from archive.payload import PayloadDecodeError, content_codings, decode_payload
from archive.warcfile import resolve_warc_path

log = logging.getLogger(__name__)


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

    def payload(self) -> bytes:
        """The body with its content codings removed: what the server meant."""
        return decoded_body(self.body, self.http_header_values("Content-Encoding"))


def decoded_body(body: bytes, content_encoding_values: list[str]) -> bytes:
    """Decode a body; a body that does not decode as labelled is returned as stored."""
    try:
        return decode_payload(body, content_codings(content_encoding_values))
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
