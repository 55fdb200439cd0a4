"""Export a selection of captures: their records copied byte for byte into one WARC file."""

from __future__ import annotations

import json
import mmap
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from warcio.warcwriter import WARCWriter

from archive.index import Capture, CaptureIndex
from archive.timeutil import iso_seconds, parse_stored
from archive.verify import inflate_member, member_head


@dataclass(frozen=True)
class Selection:
    captures: list[Capture]  # the chosen ones, oldest first
    records: list[Capture]  # with the originals their revisits need


def select(index: CaptureIndex, captures: Iterable[Capture]) -> Selection:
    chosen = sorted(captures, key=lambda c: (c.timestamp, c.id or 0))
    records: dict[int, Capture] = {}
    for capture in chosen:
        assert capture.id is not None
        records[capture.id] = capture
        holder = index.original(capture)
        if holder.id is not None:
            records[holder.id] = holder
    return Selection(chosen, sorted(records.values(), key=lambda c: (c.warc, c.offset)))


def write_subset(selection: Selection, warc_dir: Path, out: Path,
                 info: dict[str, str]) -> int:
    """A new WARC: a warcinfo record, then each response or revisit record and the
    request record written after it, copied as the gzip members they are (so every
    digest and signature over them still holds). Returns the records copied."""
    copied = 0
    with open(out, "wb") as target:
        writer = WARCWriter(target, gzip=True, warc_version="1.1")
        writer.write_record(writer.create_warcinfo_record(out.name, info))
        by_file: dict[str, list[Capture]] = {}
        for capture in selection.records:
            by_file.setdefault(capture.warc, []).append(capture)
        for name, captures in by_file.items():
            with open(warc_dir / name, "rb") as handle, \
                    mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as view:
                for capture in captures:
                    end = capture.offset + capture.length
                    target.write(view[capture.offset:end])
                    copied += 1
                    # Only a request record (a few hundred bytes) is inflated whole: the
                    # next member may as well be a large response of another capture.
                    if end < len(view) and _is_request(member_head(view, end, 400)):
                        try:
                            _, length = inflate_member(view, end)
                        except (zlib.error, EOFError):
                            continue  # a damaged request record: verify reports it
                        target.write(view[end:end + length])
                        copied += 1
    return copied


def _is_request(head: bytes) -> bool:
    return head.startswith(b"WARC/") and b"WARC-Type: request" in head


def pages_jsonl(captures: Iterable[Capture], titles: dict[int, str], out: Path) -> int:
    """WACZ pages.jsonl: the source pages and related articles, one line each."""
    lines = [json.dumps({"format": "json-pages-1.0", "id": "pages", "title": "All Pages"})]
    for capture in captures:
        if capture.found_by not in ("seed", "related") or capture.id is None:
            continue
        if not 200 <= (capture.payload_status or capture.status) < 300:
            continue
        page = {"url": capture.target_uri or capture.url,
                "ts": iso_seconds(parse_stored(capture.timestamp))}
        if capture.id in titles:
            page["title"] = titles[capture.id]
        lines.append(json.dumps(page, ensure_ascii=False))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines) - 1
