"""After each crawl: a custody entry and a signed, optionally timestamped, manifest of the
closed WARC files."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archive.custody import CAPTURE, append, head
from archive.manifests import deleted_files
from archive.signing import ManifestEntry, ensure_keys, file_sha256, sign_manifest
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


def manifest_entries(store: Store, warc_dir: Path) -> list[ManifestEntry]:
    """Every closed file but those whose deletion the custody log records: a file gone
    without one stays listed, so that verify reports it missing instead of forgetting it."""
    deleted = deleted_files(store.db)
    entries = []
    for row in store.db.table("warcs").rows_where(order_by="name"):
        if row["name"] in deleted:
            continue
        path = warc_dir / row["name"]
        digest = row.get("sha256") or (file_sha256(path) if path.exists() else "")
        entries.append(ManifestEntry(name=row["name"], sha256=digest, size=row["size"]))
    return entries


def sign_home_manifest(home: Home, store: Store, about: dict[str, Any]) -> Path:
    """Sign the manifest of every closed file, carrying the custody chain's head; with a
    TSA configured, its timestamp token goes beside it (a TSA that fails is logged: the
    signed manifest stands without it)."""
    ensure_keys(home.key_dir)
    manifest = sign_manifest(home.manifest_dir, home.key_dir,
                             manifest_entries(store, home.warc_dir),
                             {"software": f"vigil/{__version__}", **about,
                              "custody": head(store.db).as_dict()})
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
    """Log the capture in the custody chain and sign the manifest of every closed file."""
    names = [w.removeprefix("warcs/") for w in summary["warcs"]]
    hashes = {r["name"]: r["sha256"] for r in store.db.table("warcs").rows
              if r["name"] in names}
    append(store.db, CAPTURE, {"crawl_id": crawl_id, "pages": summary["pages"],
                               "failures": summary["failures"],
                               "warcs": [{"name": n, "sha256": hashes.get(n)} for n in names]})
    return sign_home_manifest(home, store, {"crawl_id": crawl_id})
