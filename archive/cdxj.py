"""A sorted CDXJ index (cdxj-indexer lines, in a ZipNum cluster) for each closed WARC file."""

from __future__ import annotations

import gzip
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
# A closed WARC file's index is a ZipNum cluster, pywb's compressed form: its sorted
# lines in gzip members of up to ZIPNUM_LINES lines (``.cdx.gz``), a summary with each
# member's first key, offset and length (``.idx``, binary-searched), and the ``.loc``
# that names the member file. pywb reads it from a directory as it reads ``.cdxj``; the
# lines compress about eightfold (one line per capture was a third of what an unchanged
# recapture added to the home). Homes made before keep their plain ``.cdxj`` files.
ZIPNUM_SUFFIX, SUMMARY_SUFFIX, LOC_SUFFIX = ".cdx.gz", ".idx", ".loc"
ZIPNUM_LINES = 3000


def index_path(index_dir: Path, warc_name: str) -> Path:
    """The plain CDXJ index of one WARC file (``replay``'s form, and older homes')."""
    return index_dir / (warc_name + SUFFIX)


def summary_path(index_dir: Path, warc_name: str) -> Path:
    """The ZipNum summary of one WARC file's index (the file written last)."""
    return index_dir / (warc_name + SUMMARY_SUFFIX)


def has_index(index_dir: Path, warc_name: str) -> bool:
    return summary_path(index_dir, warc_name).exists() or \
        index_path(index_dir, warc_name).exists()


def read_index(index_dir: Path, warc_name: str) -> str:
    """The sorted CDXJ lines of one WARC file's index, in either form."""
    plain = index_path(index_dir, warc_name)
    if plain.exists():
        return plain.read_text(encoding="utf-8")
    data = (index_dir / (warc_name + ZIPNUM_SUFFIX)).read_bytes()
    return gzip.decompress(data).decode("utf-8") if data else ""


def write_cdxj(warc: Path, index_dir: Path) -> Path:
    """Index one closed WARC file into ``index_dir`` by reading it (recovery's way; a
    crawl writes the lines it already knows, with ``write_zipnum``)."""
    # Imported when first needed: it pulls in pyamf and friends, a tenth of a second
    # that every command would otherwise pay at start.
    from cdxj_indexer.main import write_cdx_index

    found = io.StringIO()  # read back line by line at "\n" only, as it was written
    write_cdx_index(found, [str(warc)], {"sort": True})
    found.seek(0)
    return write_zipnum(found, warc.name, index_dir)


def write_zipnum(lines: Iterable[str], warc_name: str, index_dir: Path) -> Path:
    """Write one closed WARC file's index lines, sorted as cdxj-indexer sorts them, as a
    ZipNum cluster; the summary is renamed into place last, so a reader that finds it
    finds the rest whole. Returns the summary's path."""
    index_dir.mkdir(parents=True, exist_ok=True)
    blocks = index_dir / (warc_name + ZIPNUM_SUFFIX)
    summary = summary_path(index_dir, warc_name)
    loc = index_dir / (warc_name + LOC_SUFFIX)
    entries = []
    offset = 0
    source = _sorted(lines, index_dir)
    with open(blocks.with_name(blocks.name + ".tmp"), "wb") as out:
        for number, chunk in enumerate(iter(lambda: list(itertools.islice(
                source, ZIPNUM_LINES)), []), start=1):
            member = gzip.compress("".join(chunk).encode("utf-8"), compresslevel=9, mtime=0)
            out.write(member)
            key = " ".join(chunk[0].split(" ", 2)[:2])
            entries.append(f"{key}\t{blocks.name}\t{offset}\t{len(member)}\t{number}\n")
            offset += len(member)
    if not entries:  # a file of no captures: an empty plain index, as before
        blocks.with_name(blocks.name + ".tmp").unlink()
        return write_lines([], warc_name, index_dir)
    os.replace(blocks.with_name(blocks.name + ".tmp"), blocks)
    for path, text in ((loc, f"{blocks.name}\t{blocks.name}\n"), (summary, "".join(entries))):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    return summary


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
        if not has_index(index_dir, warc.name):
            made.append(write_cdxj(warc, index_dir))
    return made
