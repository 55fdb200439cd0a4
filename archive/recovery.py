"""After a crash: cut ``*.open`` WARC files back to their last complete record and close them."""

from __future__ import annotations

import logging
import os
import re
import socket
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from archive.warcfile import OPEN_SUFFIX

log = logging.getLogger(__name__)

_CHUNK = 1 << 20
_LENGTH = re.compile(rb"^content-length:\s*(\d+)\s*$", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Repair:
    name: str  # the closed file's name, or the .open name when it was removed
    kept: int  # complete records kept
    cut: int  # bytes cut from the end
    removed: bool = False  # nothing complete was left: the file is gone


# A record's WARC header block is looked for within its first bytes only: vigil writes a
# few kilobytes of headers, and a member need not be held whole to be judged.
_HEAD = 1 << 20


class _RecordShape:
    """What decides whether a decompressed member is one whole WARC record, gathered as
    it streams by: its header block, its length, its last four bytes."""

    def __init__(self) -> None:
        self.head = bytearray()
        self.size = 0
        self.tail = b""

    def feed(self, data: bytes) -> None:
        if len(self.head) < _HEAD:
            self.head += data[:_HEAD - len(self.head)]
        self.size += len(data)
        self.tail = (self.tail + data[-4:])[-4:]

    def complete(self) -> bool:
        """A whole WARC record: header block, Content-Length bytes of block, CRLF CRLF."""
        head, sep, _ = bytes(self.head).partition(b"\r\n\r\n")
        match = _LENGTH.search(head)
        if not sep or not head.startswith(b"WARC/") or match is None:
            return False
        block = self.size - len(head) - 4
        return block == int(match.group(1)) + 4 and self.tail == b"\r\n\r\n"


def complete_members(path: Path) -> Iterator[tuple[int, int]]:
    """(offset, length) of each complete record, one gzip member each, until the first
    member that is cut short or does not hold a whole record."""
    offset = 0
    with open(path, "rb") as handle:
        pending = b""
        while True:
            inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
            shape, used = _RecordShape(), 0
            data = pending
            while True:
                if not data:
                    data = handle.read(_CHUNK)
                    if not data:
                        return  # the file ends inside (or before) a member
                fed = len(data)
                try:
                    # Bounded output per call: a record of zeros inflates a thousandfold.
                    while data:
                        shape.feed(inflater.decompress(data, _CHUNK))
                        data = inflater.unconsumed_tail
                        if inflater.eof:
                            break
                    while not inflater.eof and (out := inflater.decompress(b"", _CHUNK)):
                        shape.feed(out)
                except zlib.error:
                    return
                used += fed - len(inflater.unused_data)
                if inflater.eof:
                    pending = inflater.unused_data
                    break
                data = b""
            if not shape.complete():
                return
            yield offset, used
            offset += used


def repair(path: Path) -> Repair:
    """Truncate an ``.open`` file to its last complete record, then close (rename) it."""
    end = 0
    kept = 0
    for offset, length in complete_members(path):
        end, kept = offset + length, kept + 1
    size = path.stat().st_size
    final = path.with_name(path.name.removesuffix(OPEN_SUFFIX))
    if kept == 0:
        path.unlink()
        return Repair(name=path.name, kept=0, cut=size, removed=True)
    with open(path, "r+b") as handle:
        handle.truncate(end)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(path, final)
    return Repair(name=final.name, kept=kept, cut=size - end)


def writer_alive(path: Path) -> bool:
    """Whether the process that writes this file still runs. Names end in
    ``-<host>-<pid>.warc.gz.open``; a file from another host is left alone."""
    stem = path.name.removesuffix(OPEN_SUFFIX).removesuffix(".warc.gz")
    rest, _, pid = stem.rpartition("-")
    host = rest.rpartition("-")[2]
    if host != socket.gethostname().replace("-", "_"):
        return True  # another machine's file: not ours to judge
    return pid.isdigit() and pid_alive(int(pid))


def pid_alive(pid: int | None) -> bool:
    """Whether a process with this id runs on this machine."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, as another user's process
    return True


def repair_open_files(warc_dir: Path) -> list[Repair]:
    """Repair every ``*.open`` file whose writer has died (a crash, ``kill -9``)."""
    repairs = []
    for path in sorted(warc_dir.glob(f"*{OPEN_SUFFIX}")):
        if writer_alive(path):
            continue
        done = repair(path)
        log.warning("repaired %s: kept %d records, cut %d bytes%s", path.name, done.kept,
                    done.cut, " (removed: nothing complete)" if done.removed else "")
        repairs.append(done)
    return repairs
