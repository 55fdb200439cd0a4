"""A sorted CDXJ index (cdxj-indexer format) for each closed WARC file, for replay tools."""

from __future__ import annotations

import os
from pathlib import Path

SUFFIX = ".cdxj"


def index_path(index_dir: Path, warc_name: str) -> Path:
    return index_dir / (warc_name + SUFFIX)


def write_cdxj(warc: Path, index_dir: Path) -> Path:
    """Index one closed WARC file into ``index_dir``, sorted (written whole, then renamed,
    so a reader never sees half an index)."""
    # Imported when first needed: it pulls in pyamf and friends, a tenth of a second
    # that every command would otherwise pay at start.
    from cdxj_indexer.main import write_cdx_index

    index_dir.mkdir(parents=True, exist_ok=True)
    out = index_path(index_dir, warc.name)
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        write_cdx_index(handle, [str(warc)], {"sort": True})
    os.replace(tmp, out)
    return out


def ensure_cdxj(warc_dir: Path, index_dir: Path) -> list[Path]:
    """Index every closed WARC file that has no index yet."""
    made = []
    for warc in sorted(warc_dir.glob("*.warc.gz")):
        if not index_path(index_dir, warc.name).exists():
            made.append(write_cdxj(warc, index_dir))
    return made
