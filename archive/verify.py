"""Fixity: re-read every WARC record and every index row, and report each mismatch."""

from __future__ import annotations

import hashlib
import mmap
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from archive.index import Capture, CaptureIndex
from archive.payload import (
    DEFAULT_DECODE_CAP,
    DecodeCapExceeded,
    is_stored_digest,
    sha256_label,
    stored_sha256_label,
)
from archive.reader import RecordNotFound, read_record
from archive.timeutil import parse_stored

_CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b\x08"


# An exception's text can quote a whole line of the damaged bytes (warcio quotes the
# first line it could not parse): a problem line keeps this much of it.
_BRIEF = 200


def _brief(exc: BaseException) -> str:
    """An exception's text, cut to a readable line."""
    text = str(exc)
    return text if len(text) <= _BRIEF else text[:_BRIEF] + "…"


@dataclass(frozen=True)
class Problem:
    file: str
    offset: int | None
    url: str | None
    problem: str


@dataclass(frozen=True)
class Member:
    offset: int
    length: int
    data: bytes  # the decompressed record


def inflate_member(view: mmap.mmap, start: int) -> tuple[bytes, int]:
    """Decompress the gzip member at ``start``: (record, member length). Raises zlib.error
    or EOFError."""
    inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    out = BytesIO()  # its value is handed over without the copy bytes(bytearray) makes
    cursor = start
    while not inflater.eof:
        if cursor >= len(view):
            raise EOFError("the file ends inside a record")
        chunk = view[cursor:cursor + _CHUNK]
        out.write(inflater.decompress(chunk))
        cursor += len(chunk) - len(inflater.unused_data)
    return out.getvalue(), cursor - start


def member_head(view: mmap.mmap, start: int, size: int) -> bytes:
    """The first ``size`` bytes (or fewer) of the record in the gzip member at ``start``,
    without inflating the rest of it; what decompresses before any damage."""
    inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    out = bytearray()
    cursor = start
    while len(out) < size and not inflater.eof and cursor < len(view):
        chunk = view[cursor:cursor + 4096]
        try:
            out += inflater.decompress(chunk, size - len(out))
        except zlib.error:
            break
        cursor += len(chunk) - len(inflater.unconsumed_tail) - len(inflater.unused_data)
    return bytes(out[:size])


def walk_members(path: Path, problems: list[Problem]) -> Iterator[Member]:
    """Every gzip member of a WARC file. A corrupt member is reported once and skipped:
    the walk resumes at the next member that decompresses to a WARC record."""
    if path.stat().st_size == 0:
        return
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0,
                                                access=mmap.ACCESS_READ) as view:
        position = 0
        while position < len(view):
            try:
                data, length = inflate_member(view, position)
            except (zlib.error, EOFError) as exc:
                kind, uri = _damaged_record(view, position)
                problems.append(Problem(path.name, position, uri,
                                        f"corrupt gzip member ({kind} record): {_brief(exc)}"))
                position = _resync(view, position + 1)
                continue
            yield Member(position, length, data)
            position += length


_FIELD = re.compile(rb"^(WARC-Type|WARC-Target-URI): *(\S+)", re.MULTILINE)


def _damaged_record(view: mmap.mmap, start: int) -> tuple[str, str | None]:
    """What a damaged member held, from the bytes that still decompress before the
    damage: (record type, target URI)."""
    inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    out = bytearray()
    for cursor in range(start, min(len(view), start + (1 << 16)), 64):
        try:
            out += inflater.decompress(view[cursor:cursor + 64])
        except zlib.error:
            break
        if inflater.eof or len(out) > 4096:
            break
    fields = {m.group(1): m.group(2).decode("utf-8", "replace")
              for m in _FIELD.finditer(bytes(out[:4096]))}
    return fields.get(b"WARC-Type", "unreadable"), fields.get(b"WARC-Target-URI")


def _resync(view: mmap.mmap, start: int) -> int:
    candidate = view.find(_GZIP_MAGIC, start)
    while candidate != -1:
        try:
            data, _ = inflate_member(view, candidate)
            if data.startswith(b"WARC/"):
                return candidate
        except (zlib.error, EOFError):
            pass
        candidate = view.find(_GZIP_MAGIC, candidate + 1)
    return len(view)


def check_records(path: Path) -> list[Problem]:
    """Each record's block and payload digests against its own headers."""
    problems: list[Problem] = []
    for member in walk_members(path, problems):
        try:
            for record in ArchiveIterator(BytesIO(member.data), check_digests=True):
                uri = record.rec_headers.get_header("WARC-Target-URI")
                # Both digests are of the bytes as stored: read them undecoded (decoding
                # is no part of fixity, and a bomb's payload must not be inflated here).
                stream = record.raw_stream
                while stream.read(_CHUNK):
                    pass
                if record.digest_checker.passed is False:
                    for text in record.digest_checker.problems:
                        problems.append(Problem(path.name, member.offset, uri, str(text)))
        except (ArchiveLoadFailed, ValueError, OSError) as exc:
            problems.append(Problem(path.name, member.offset, None,
                                    f"not a readable WARC record: {_brief(exc)}"))
        except Exception as exc:  # noqa: BLE001 -- a record verify cannot read is a problem
            problems.append(Problem(path.name, member.offset, None,
                                    f"record could not be checked: {type(exc).__name__}: "
                                    f"{_brief(exc)}"))
    return problems


def _moment(warc_date: str) -> datetime | None:
    try:
        return parse_stored(warc_date)
    except ValueError:
        return None


def check_capture(capture: Capture, index: CaptureIndex, warc_dir: Path,
                  decode_cap: int = DEFAULT_DECODE_CAP) -> list[Problem]:
    """One index row against the bytes it names. A row marked as not decoded (its
    payload is past the decode cap) holds the digest of the body as stored: that is
    checked instead, and its payload is never inflated."""
    where = (capture.warc, capture.offset, capture.url)

    def problem(text: str) -> list[Problem]:
        return [Problem(*where, text)]

    path = warc_dir / capture.warc
    if not path.exists():
        return problem("the WARC file the index names does not exist")
    if capture.member_sha256:
        with open(path, "rb") as handle:
            handle.seek(capture.offset)
            written = handle.read(capture.length)
        if hashlib.sha256(written).hexdigest() != capture.member_sha256:
            return problem("the record's bytes differ from what was written")
    try:
        record = read_record(warc_dir, capture.warc, capture.offset)
    except (RecordNotFound, ArchiveLoadFailed, ValueError, zlib.error) as exc:
        return problem(f"no readable record at this offset: {_brief(exc)}")
    if record.target_uri != (capture.target_uri or record.target_uri):
        return problem(f"the record is of {record.target_uri}")
    # The index's time and status are what `get --at` and replay answer by: a row edited
    # in the database (back-dated, say) must not pass as the record.
    dated = record.warc_header("WARC-Date")
    if dated is None or _moment(dated) != capture.moment:
        return problem(f"the record's WARC-Date is {dated}, not the index's time")
    if record.status is not None and record.status != capture.status:
        return problem(f"the record's HTTP status is {record.status}, not the index's")
    if record.warc_header("WARC-Payload-Digest") != capture.payload_digest:
        return problem("WARC-Payload-Digest differs from the index")
    holder = index.original(capture) if capture.revisit else capture
    if capture.revisit:
        if holder.revisit:
            return problem("a revisit whose original is not in the archive")
        try:
            record = read_record(warc_dir, holder.warc, holder.offset)
        except (RecordNotFound, ArchiveLoadFailed, ValueError, zlib.error) as exc:
            return problem(f"its original cannot be read: {_brief(exc)}")
    if is_stored_digest(capture.digest):
        if stored_sha256_label(hashlib.sha256(record.body).digest()) != capture.digest:
            return problem("the stored body's SHA-256 differs from the index")
        return []
    try:
        digest, _ = record.payload_sha256(decode_cap)
    except DecodeCapExceeded as exc:
        return problem(f"the payload's SHA-256 cannot be checked: not decoded: {_brief(exc)}")
    if sha256_label(digest) != capture.digest:
        return problem("the payload's SHA-256 differs from the index")
    return []


def _checked(capture: Capture, index: CaptureIndex, warc_dir: Path,
             decode_cap: int) -> list[Problem]:
    try:
        return check_capture(capture, index, warc_dir, decode_cap)
    except Exception as exc:  # noqa: BLE001 -- one row verify cannot check is a problem
        return [Problem(capture.warc, capture.offset, capture.url,
                        f"could not be checked: {type(exc).__name__}: {_brief(exc)}")]


def _name_from_index(problem: Problem, index: CaptureIndex) -> Problem:
    """A damaged record whose own header is unreadable is named by the index: the capture
    at that offset, or the capture whose request record follows it there."""
    if problem.url is not None or problem.offset is None:
        return problem
    capture, role = index.at_offset(problem.file, problem.offset), "response"
    if capture is None:
        capture, role = index.ending_at(problem.file, problem.offset), "request"
    if capture is None:
        return problem
    return Problem(problem.file, problem.offset, capture.url,
                   f"{problem.problem}; by the index, the {role} record of this URL")


def verify_archive(index: CaptureIndex, warc_dir: Path,
                   decode_cap: int = DEFAULT_DECODE_CAP) -> list[Problem]:
    """Every problem found, as data: an unreadable file or record is one more problem,
    never an exception."""
    problems: list[Problem] = []
    for path in sorted(warc_dir.glob("*.warc.gz")):
        try:
            found = check_records(path)
        except Exception as exc:  # noqa: BLE001 -- a file verify cannot read is a problem
            found = [Problem(path.name, None, None,
                             f"file could not be checked: {type(exc).__name__}: {_brief(exc)}")]
        problems += [_name_from_index(p, index) for p in found]
    for capture in index.all():
        problems += _checked(capture, index, warc_dir, decode_cap)
    return problems
