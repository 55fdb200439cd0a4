"""After each crawl: a custody entry and a signed, optionally timestamped, manifest of the
WARC files closed (or deleted) since the manifest before."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archive.custody import CAPTURE, DELETION, append, head
from archive.custody import entries as custody_entries
from archive.manifests import deleted_files
from archive.signing import (
    Deletion,
    ManifestEntry,
    ensure_keys,
    file_sha256,
    latest_manifest,
    sign_manifest,
)
from archive.timestamping import TOKEN_SUFFIX, TimestampError, request_timestamp
from crawler import __version__
from crawler.app.home import Home
from crawler.app.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Evidence:
    """The ``[evidence]`` table of vigil.toml: the TSA that timestamps each manifest."""

    tsa_url: str | None = None
    tsa_cert: Path | None = None

    @classmethod
    def of(cls, home: Home) -> Evidence:
        table = home.config().get("evidence", {})
        cert = table.get("tsa_cert")
        path = Path(cert) if cert else None
        if path is not None and not path.is_absolute():
            path = home.root / path
        return cls(tsa_url=table.get("tsa_url") or None, tsa_cert=path)


def _since(manifest_dir: Path) -> int:
    """How many custody entries the latest manifest had seen (0 without one)."""
    latest = latest_manifest(manifest_dir)
    if latest is None:
        return 0
    try:
        custody = json.loads(latest.read_bytes()).get("custody")
    except ValueError:
        return 0
    return int(custody.get("entries", 0)) if isinstance(custody, dict) else 0


def manifest_changes(store: Store, warc_dir: Path,
                     manifest_dir: Path) -> tuple[list[ManifestEntry], list[Deletion]]:
    """What the next manifest lists: the closed files not yet signed at their current
    hash, and the deletions the custody log recorded since the latest manifest. A file
    gone without a logged deletion is never taken out, so that verify reports it missing
    instead of forgetting it."""
    deleted = deleted_files(store.db)
    entries = []
    for row in store.db.query("SELECT name, size, sha256, signed_sha256 FROM warcs "
                              "WHERE signed_sha256 IS NULL OR sha256 IS NULL OR "
                              "signed_sha256 != sha256 ORDER BY name"):
        if row["name"] in deleted:
            continue
        path = warc_dir / row["name"]
        digest = row["sha256"] or (file_sha256(path) if path.exists() else "")
        if digest and digest == row["signed_sha256"]:
            continue
        entries.append(ManifestEntry(name=row["name"], sha256=digest, size=row["size"]))
    since = _since(manifest_dir)
    deletions = [Deletion(str(detail.get("file")), str(detail.get("sha256")), position)
                 for position, detail in custody_entries(store.db, DELETION)
                 if position > since]
    return entries, deletions


def sign_home_manifest(home: Home, store: Store, about: dict[str, Any]) -> Path:
    """Sign a manifest of what changed since the latest one (files closed or changed,
    files deleted), carrying the custody chain's head; with a TSA configured, its
    timestamp token goes beside it (a TSA that fails is logged: the signed manifest
    stands without it)."""
    ensure_keys(home.key_dir)
    listed, deletions = manifest_changes(store, home.warc_dir, home.manifest_dir)
    manifest = sign_manifest(home.manifest_dir, home.key_dir, listed,
                             {"software": f"vigil/{__version__}", **about,
                              "custody": head(store.db).as_dict()}, changes=deletions)
    # Only once it is signed: a crash before this lists the files again next time.
    with store.db.conn:
        store.db.conn.executemany("UPDATE warcs SET signed_sha256 = ? WHERE name = ?",
                                  [(e.sha256, e.name) for e in listed if e.sha256])
    evidence = Evidence.of(home)
    if evidence.tsa_url:
        try:
            token = request_timestamp(evidence.tsa_url, manifest.read_bytes())
        except TimestampError as exc:
            log.warning("manifest %s not timestamped: %s", manifest.name, exc)
        else:
            manifest.with_name(manifest.name + TOKEN_SUFFIX).write_bytes(token)
    return manifest


def record_capture(home: Home, store: Store, crawl_id: int, summary: dict[str, Any]) -> Path:
    """Log the capture in the custody chain and sign a manifest of what changed."""
    names = [w.removeprefix("warcs/") for w in summary["warcs"]]
    hashes = {r["name"]: r["sha256"] for r in store.db.table("warcs").rows
              if r["name"] in names}
    append(store.db, CAPTURE, {"crawl_id": crawl_id, "pages": summary["pages"],
                               "failures": summary["failures"],
                               "warcs": [{"name": n, "sha256": hashes.get(n)} for n in names]})
    return sign_home_manifest(home, store, {"crawl_id": crawl_id})
