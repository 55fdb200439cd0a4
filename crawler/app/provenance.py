"""After each crawl: a custody entry and a signed manifest of the closed WARC files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archive.custody import append
from archive.signing import ManifestEntry, ensure_keys, file_sha256, sign_manifest
from crawler import __version__
from crawler.app.home import Home
from crawler.app.store import Store


def manifest_entries(store: Store, warc_dir: Path) -> list[ManifestEntry]:
    entries = []
    for row in store.db.table("warcs").rows_where(order_by="name"):
        path = warc_dir / row["name"]
        if not path.exists():
            continue
        digest = row.get("sha256") or file_sha256(path)
        entries.append(ManifestEntry(name=row["name"], sha256=digest, size=row["size"]))
    return entries


def record_capture(home: Home, store: Store, crawl_id: int, summary: dict[str, Any]) -> Path:
    """Log the capture in the custody chain and sign the manifest of every closed file."""
    ensure_keys(home.key_dir)
    names = [w.removeprefix("warcs/") for w in summary["warcs"]]
    hashes = {r["name"]: r["sha256"] for r in store.db.table("warcs").rows
              if r["name"] in names}
    append(store.db, "capture", {"crawl_id": crawl_id, "pages": summary["pages"],
                                 "failures": summary["failures"],
                                 "warcs": [{"name": n, "sha256": hashes.get(n)} for n in names]})
    return sign_manifest(home.manifest_dir, home.key_dir, manifest_entries(store, home.warc_dir),
                         {"software": f"vigil/{__version__}", "crawl_id": crawl_id})
