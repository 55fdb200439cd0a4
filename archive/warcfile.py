"""Rotating WARC files, one gzip member per record, written as ``*.open`` until closed."""

from __future__ import annotations

import hashlib
import os
import socket
import tempfile
import zlib
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from isal import isal_zlib
from warcio.warcwriter import WARCWriter

from archive.timeutil import utcnow

OPEN_SUFFIX = ".open"
# Bodies a server sent compressed (most pages) are not made smaller by any level; the rest
# is gzipped by us, and a crawl is bound by this CPU. Levels 1-3 use ISA-L (igzip): on a
# 50 KB uncompressed page its level 3 takes ~0.25 ms where zlib's 3 takes ~0.9 and its 6
# ~2.3 (warcio's default is 9), for files ~25% larger than at 6. Levels 4-9 use zlib.
# ARCHIVE_GZIP_LEVEL changes it: a file can be recompressed later, a missed page cannot.
GZIP_LEVEL = 3
_ISAL_LEVELS = range(1, 4)


class WarcWriteError(OSError):
    """A record could not be written; files written so far stay valid."""


@dataclass(frozen=True)
class RecordLocation:
    """Where a record lives: file name (final, without ``.open``), offset, length."""

    warc: str
    offset: int
    length: int
    record_id: str
    payload_digest: str | None
    member_sha256: str  # of the record's gzip member, as written


class _Collect:
    """warcio writes a record into this: its bytes, to be compressed as one member."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass


def gzip_member(data: bytes, level: int) -> bytes:
    """One gzip member holding ``data`` (as warcio's GzippingWrapper makes one per
    record), in one call that releases the GIL."""
    compressor: Any = (
        isal_zlib.compressobj(level, isal_zlib.DEFLATED, isal_zlib.MAX_WBITS + 16)
        if level in _ISAL_LEVELS
        else zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS + 16))
    return bytes(compressor.compress(data) + compressor.flush())


# Records this large are compressed on a worker thread while the crawl goes on (the
# compressors release the GIL); smaller ones cost less to compress than to hand over.
# Measured on the bench site served uncompressed (30-80 KB pages): handing over every
# record of 16 KB or more made the crawl slower (0.71-0.76x bare Scrapy against
# 0.86-0.98x inline) and used more CPU per page, the threads' handovers of the GIL
# costing more than the compression they moved.
_BACKGROUND_MIN = 1 << 20
_worker: ThreadPoolExecutor | None = None


def _background() -> ThreadPoolExecutor:
    global _worker
    if _worker is None:
        _worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vigil-gzip")
    return _worker


def _forget_worker() -> None:
    # A forked child has the executor but not its thread: work handed to it would wait
    # forever. The child starts its own when it first needs one.
    global _worker
    _worker = None


os.register_at_fork(after_in_child=_forget_worker)


def _member_of(data: bytes, level: int) -> tuple[bytes, str]:
    """A record's gzip member and its SHA-256 (hashlib releases the GIL too)."""
    member = gzip_member(data, level)
    return member, hashlib.sha256(member).hexdigest()


# Records with a payload this large (a body spooled to disk, say) are never held whole:
# serialised and compressed as a stream into an unnamed file beside the WARCs, and copied
# from it into the WARC when their turn comes.
STREAM_MIN = 4 << 20
_COPY = 1 << 20


class _GzipFile:
    """warcio writes a large record into this: gzipped as it comes, into a file."""

    def __init__(self, directory: Path, level: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.file: IO[bytes] = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115
        self._compressor: Any = (
            isal_zlib.compressobj(level, isal_zlib.DEFLATED, isal_zlib.MAX_WBITS + 16)
            if level in _ISAL_LEVELS
            else zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS + 16))
        self._sha256 = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self._put(self._compressor.compress(data))
        return len(data)

    def _put(self, member: bytes) -> None:
        self.file.write(member)
        self._sha256.update(member)

    def flush(self) -> None:
        pass

    def close(self) -> tuple[IO[bytes], str]:
        self._put(self._compressor.flush())
        self.file.seek(0)
        return self.file, self._sha256.hexdigest()


def _streamed_member_of(record: Any, directory: Path, level: int) -> tuple[IO[bytes], str]:
    """A large record's gzip member, in a file, and its SHA-256."""
    out = _GzipFile(directory, level)
    try:
        # A builder of its own: this runs on the worker thread while the crawl serialises
        # other records with the writer's.
        _Sha256WARCWriter(None, gzip=False, warc_version="1.1")._write_warc_record(out, record)
        return out.close()
    except BaseException:
        out.file.close()
        raise


Member = tuple[bytes | IO[bytes], str]


@dataclass(frozen=True)
class PendingWrite:
    """Records serialised and being compressed; ``RotatingWarcWriter.finish`` writes them."""

    members: tuple[tuple[Any, Member | Future[Member]], ...]


class _Sha256WARCWriter(WARCWriter):  # type: ignore[misc]
    @staticmethod
    def _create_digester() -> Any:
        # Hex: padded base32 is outside WARC 1.1's digest grammar (jwarc rejects it).
        from archive.digests import HexDigester

        return HexDigester()


class RotatingWarcWriter:
    """Appends records to ``<prefix>-<timestamp>-<serial>-<host>.warc.gz.open`` files.

    A file is renamed to drop ``.open`` only when it is closed, so a crash never leaves
    a file that claims to be complete. Each new file starts with a ``warcinfo`` record.
    """

    def __init__(
        self,
        directory: Path,
        warcinfo: Mapping[str, str],
        *,
        prefix: str = "vigil",
        max_size: int = 1 << 30,
        on_close: Callable[[Path], None] | None = None,
        gzip_level: int = GZIP_LEVEL,
    ) -> None:
        self.directory = directory
        self.gzip_level = gzip_level
        self.prefix = prefix
        self.max_size = max_size
        self._warcinfo = dict(warcinfo)
        self._host = socket.gethostname().replace("-", "_") or "host"
        self._serial = 0
        self._file: IO[bytes] | None = None
        self._name: str | None = None
        # It only serialises records; compression is ours (gzip_member), so that its level
        # is too, and writing is ours, so that a cut record can be cut back.
        self._writer = _Sha256WARCWriter(None, gzip=False, warc_version="1.1")
        self.closed_files: list[str] = []
        # SHA-256 of each closed file, hashed as written (None if a write was cut back).
        self.closed_sha256: dict[str, str] = {}
        self._whole: Any = None
        self.bytes_written = 0
        self._on_close = on_close  # called with each closed file (to index it, say)

    @property
    def builder(self) -> WARCWriter:
        """The record builder whose digest and version settings match these files."""
        return self._writer

    @property
    def current_name(self) -> str | None:
        return self._name

    def _open_new(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = utcnow().strftime("%Y%m%d%H%M%S%f")[:17]
        name = f"{self.prefix}-{stamp}-{self._serial:05d}-{self._host}-{os.getpid()}.warc.gz"
        self._serial += 1
        try:
            # Unbuffered: after a failed write (disk full) a buffer would still hold bytes
            # of the cut record, and fail again, or land after the cut, at the next flush.
            handle = open(self.directory / (name + OPEN_SUFFIX), "xb", buffering=0)  # noqa: SIM115
        except OSError as exc:
            raise WarcWriteError(f"cannot create WARC file {name}: {exc}") from exc
        self._file, self._name = handle, name
        self._whole = hashlib.sha256()
        info = self._writer.create_warcinfo_record(name, self._warcinfo)
        self._append(info, _member_of(self._serialise(info), self.gzip_level))

    def _serialise(self, record: Any) -> bytes:
        collected = _Collect()
        self._writer.out = collected
        self._writer.write_record(record)
        return b"".join(collected.chunks)

    def _append(self, record: Any, compressed: Member) -> RecordLocation:
        assert self._file is not None and self._name is not None
        member, member_sha256 = compressed
        offset = self._file.tell()
        try:
            if isinstance(member, bytes):
                self._put(member)
            else:
                with member:
                    while piece := member.read(_COPY):
                        self._put(piece)
        except OSError as exc:
            # Cut the partial member so the file still ends on a record boundary; the
            # running hash no longer describes it.
            self._file.truncate(offset)
            self._file.seek(offset)
            self._whole = None
            raise WarcWriteError(f"cannot write to {self._name}: {exc}") from exc
        length = self._file.tell() - offset
        self.bytes_written += length
        return RecordLocation(
            warc=self._name,
            offset=offset,
            length=length,
            record_id=record.rec_headers.get_header("WARC-Record-ID"),
            payload_digest=record.rec_headers.get_header("WARC-Payload-Digest"),
            member_sha256=member_sha256,
        )

    def _put(self, data: bytes) -> None:
        assert self._file is not None
        # The file is unbuffered (see _open_new): a write may take only part of it.
        view = memoryview(data)
        while view:
            view = view[self._file.write(view) or 0:]
        if self._whole is not None:
            self._whole.update(data)

    def submit(self, *records: Any) -> PendingWrite:
        """Serialise records and start compressing them: large ones on a worker thread,
        so that the caller goes on meanwhile, the largest as a stream (STREAM_MIN).
        ``finish`` writes them, in order."""
        members: list[tuple[Any, Member | Future[Member]]] = []
        for record in records:
            if (record.length or 0) >= STREAM_MIN:
                members.append((record, _background().submit(
                    _streamed_member_of, record, self.directory, self.gzip_level)))
                continue
            data = self._serialise(record)
            members.append((record, _background().submit(_member_of, data, self.gzip_level)
                            if len(data) >= _BACKGROUND_MIN
                            else _member_of(data, self.gzip_level)))
        return PendingWrite(tuple(members))

    def finish(self, pending: PendingWrite) -> list[RecordLocation]:
        """Write submitted records next to each other in one file (rotating first if it is
        full). Records land in the order of the ``finish`` calls."""
        if self._file is not None and self._file.tell() >= self.max_size:
            self.close()
        if self._file is None:
            self._open_new()
        return [self._append(record, member if isinstance(member, tuple) else member.result())
                for record, member in pending.members]

    def write(self, *records: Any) -> list[RecordLocation]:
        """Write records next to each other in one file (rotating first if it is full)."""
        return self.finish(self.submit(*records))

    def sync(self) -> None:
        """Make everything written so far durable (before the index points at it)."""
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())

    def close(self) -> None:
        """Sync, close and rename the current file; a no-op when none is open."""
        if self._file is None or self._name is None:
            return
        self.sync()
        self._file.close()
        closed = self.directory / self._name
        os.replace(self.directory / (self._name + OPEN_SUFFIX), closed)
        self.closed_files.append(self._name)
        if self._whole is not None:
            self.closed_sha256[self._name] = self._whole.hexdigest()
        self._file, self._name = None, None
        if self._on_close is not None:
            self._on_close(closed)


def resolve_warc_path(directory: Path, name: str) -> Path:
    """The file for a WARC name: the closed file, or the ``.open`` one still being written."""
    closed = directory / name
    if closed.exists():
        return closed
    pending = directory / (name + OPEN_SUFFIX)
    return pending if pending.exists() else closed
