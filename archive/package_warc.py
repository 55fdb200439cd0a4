"""The WARC file of an export: its own warcinfo, the source files' warcinfo records as they
were written, then the chosen records copied byte for byte."""

from __future__ import annotations

import mmap
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from warcio.warcwriter import WARCWriter

from archive.digests import HexDigester
from archive.export import Selection, write_subset
from archive.verify import inflate_member, member_head

_HEAD = 400


class _HexWARCWriter(WARCWriter):  # type: ignore[misc]
    @staticmethod
    def _create_digester() -> Any:
        return HexDigester()


def warcinfo_member(path: Path) -> bytes | None:
    """The first record of a WARC file, as its gzip member, if it is a warcinfo record:
    what the crawl said of itself (software, User-Agent, robots policy, deviations)."""
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0,
                                                access=mmap.ACCESS_READ) as view:
        head = member_head(view, 0, _HEAD)
        if not head.startswith(b"WARC/") or b"WARC-Type: warcinfo" not in head:
            return None
        _, length = inflate_member(view, 0)
        return bytes(view[:length])


def write_package_warc(selection: Selection, warc_dir: Path, out: Path,
                       info: Mapping[str, str], source_hashes: Mapping[str, str]) -> int:
    """Write the export's WARC file; returns the records copied (warcinfo records aside).
    ``source_hashes`` names each source file's SHA-256, as its signed manifest lists it."""
    sources = sorted({c.warc for c in selection.records})
    described = dict(info)
    described["vigil-source-warcs"] = " ".join(
        f"{name}#sha256:{source_hashes.get(name, 'unknown')}" for name in sources)
    with tempfile.TemporaryDirectory(prefix="vigil-package-") as work:
        records = Path(work) / "records.warc.gz"
        copied = write_subset(selection, warc_dir, records, {})
        with open(out, "wb") as target:
            writer = _HexWARCWriter(target, gzip=True, warc_version="1.1")
            writer.write_record(writer.create_warcinfo_record(out.name, described))
            for name in sources:
                member = warcinfo_member(warc_dir / name)
                if member is not None:
                    target.write(member)
            with open(records, "rb") as handle, mmap.mmap(handle.fileno(), 0,
                                                          access=mmap.ACCESS_READ) as view:
                _, skip = inflate_member(view, 0)  # write_subset's own, empty, warcinfo
                for start in range(skip, len(view), 1 << 24):
                    target.write(view[start:min(len(view), start + (1 << 24))])
    return copied
