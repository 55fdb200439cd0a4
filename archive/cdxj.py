"""A sorted CDXJ index (cdxj-indexer format) for each closed WARC file, for replay tools."""

from __future__ import annotations

import heapq
import io
import itertools
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from warcio.timeutils import iso_date_to_timestamp

SUFFIX = ".cdxj"


def index_path(index_dir: Path, warc_name: str) -> Path:
    return index_dir / (warc_name + SUFFIX)


def write_cdxj(warc: Path, index_dir: Path) -> Path:
    """Index one closed WARC file into ``index_dir`` by reading it (recovery's way; a
    crawl writes the lines it already knows, with ``write_lines``)."""
    # Imported when first needed: it pulls in pyamf and friends, a tenth of a second
    # that every command would otherwise pay at start.
    from cdxj_indexer.main import write_cdx_index

    found = io.StringIO()  # read back line by line at "\n" only, as it was written
    write_cdx_index(found, [str(warc)], {"sort": True})
    found.seek(0)
    return write_lines(found, warc.name, index_dir)


_MIME_END = re.compile(r"[;\s]")


def cdxj_line(*, target_uri: str, warc_date: str, revisit: bool, content_type: str | None,
              status: int, payload_digest: str | None, offset: int, length: int,
              filename: str) -> str:
    """The line cdxj-indexer writes for a response or revisit record, made from what the
    writer already knows, so that closing a file does not mean reading it back."""
    fields: dict[str, str] = {"url": target_uri}
    if revisit:
        fields["mime"] = "warc/revisit"
    elif content_type is not None:
        fields["mime"] = _MIME_END.split(content_type, 1)[0].strip()
    fields["status"] = str(status)
    if payload_digest:
        fields["digest"] = payload_digest
    fields.update(length=str(length), offset=str(offset), filename=filename)
    import surt  # here: it loads tldextract, a twentieth of a second at every start

    try:
        key = str(surt.surt(target_uri))
    except Exception:  # noqa: BLE001 -- cdxj-indexer falls back to the URL on any error
        key = target_uri
    return f"{key} {iso_date_to_timestamp(warc_date)} {json.dumps(fields)}\n"


def write_lines(lines: Iterable[str], warc_name: str, index_dir: Path) -> Path:
    """Write the lines of one closed WARC file's index, sorted as cdxj-indexer sorts them
    (written whole, then renamed, so a reader never sees half an index)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    out = index_path(index_dir, warc_name)
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.writelines(_sorted(lines, index_dir))
    os.replace(tmp, out)
    return out


# Lines sorted in memory at a time: a large file's index is merged from sorted runs kept
# in unnamed temporary files, so that closing a WARC of 20,000 captures does not hold
# all their lines at once.
_RUN = 4096


def scratch_lines(directory: Path) -> IO[str]:
    """An unnamed file of index lines beside the indexes (gone with its handle, or the
    process), read back at "\n" only, as the lines are written. The caller closes it."""
    directory.mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryFile("w+", encoding="utf-8", newline="\n", dir=directory)


def _sorted(lines: Iterable[str], scratch: Path) -> Iterator[str]:
    runs: list[IO[str]] = []
    source = iter(lines)
    try:
        while chunk := sorted(itertools.islice(source, _RUN)):
            if not runs and len(chunk) < _RUN:
                yield from chunk  # the whole index fits in one run
                return
            run = scratch_lines(scratch)
            runs.append(run)
            run.writelines(chunk)
            run.seek(0)
        yield from heapq.merge(*runs)
    finally:
        for spilled in runs:
            spilled.close()


def ensure_cdxj(warc_dir: Path, index_dir: Path) -> list[Path]:
    """Index every closed WARC file that has no index yet."""
    made = []
    for warc in sorted(warc_dir.glob("*.warc.gz")):
        if not index_path(index_dir, warc.name).exists():
            made.append(write_cdxj(warc, index_dir))
    return made
