"""Proof for a third party: WACZ packages of chosen captures, and the whole home's fixity check."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from archive.custody import append, check_chain
from archive.export import Selection, pages_jsonl, select, write_subset
from archive.found_by import ARTICLE_PAGES
from archive.index import Capture
from archive.reader import read_record
from archive.signing import (
    PUBLIC_KEY,
    ManifestEntry,
    check_manifest,
    file_sha256,
    latest_manifest,
    sign_manifest,
)
from archive.verify import verify_archive
from crawler import __version__
from crawler.app.home import Home
from crawler.app.store import Store
from monitor.extract import extract


class NothingToExport(LookupError):
    """No capture matches the export's selection."""


class PackagingError(RuntimeError):
    """The WACZ packager failed."""


@dataclass(frozen=True)
class ExportResult:
    output: Path
    captures: int
    records: int
    sha256: str


def choose_captures(store: Store, sources: Iterable[str], since: datetime | None,
                    until: datetime | None) -> list[Capture]:
    """The captures of the named sources (all, if none) from ``since`` up to ``until``,
    both ends included."""
    names = list(sources)
    ids = {s.id for s in store.select_sources(names)} if names else None
    return [c for c in store.captures.all()
            if (ids is None or c.source_id in ids)
            and (since is None or c.moment >= since) and (until is None or c.moment <= until)]


def export_wacz(home: Home, store: Store, output: Path, sources: Iterable[str] = (),
                since: datetime | None = None, until: datetime | None = None) -> ExportResult:
    """Package the chosen captures as WACZ, with a signed manifest of the exported WARC,
    and log the export in the custody chain."""
    chosen = choose_captures(store, sources, since, until)
    if not chosen:
        raise NothingToExport("no captures match")
    selection = select(store.captures, chosen)
    with tempfile.TemporaryDirectory(prefix="vigil-export-") as work:
        folder = Path(work)
        warc = folder / f"{output.stem}.warc.gz"
        copied = write_subset(selection, home.warc_dir, warc, {
            "software": f"vigil/{__version__}", "format": "WARC File Format 1.1",
            "description": f"vigil export of {len(selection.captures)} captures"})
        pages_jsonl(selection.captures, _titles(home, selection.captures),
                    folder / "pages.jsonl")
        proof = folder / "fixity"
        proof.mkdir()
        _proof(home, proof, warc, selection)
        command = [sys.executable, "-m", "wacz", "create", "-o", str(output.resolve()),
                   "-p", str(folder / "pages.jsonl"), "-l", str(proof),
                   "--title", f"vigil export from {home.root.name}", str(warc)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0 or not output.exists():
            raise PackagingError(f"wacz could not package the export: "
                                 f"{done.stderr.strip()[-300:]}")
    digest = file_sha256(output)
    append(store.db, "export", {"file": output.name, "sha256": digest,
                                "captures": len(selection.captures), "records": copied})
    return ExportResult(output, len(selection.captures), copied, digest)


def _titles(home: Home, captures: list[Capture]) -> dict[int, str]:
    titles: dict[int, str] = {}
    for capture in captures:
        if capture.found_by in ARTICLE_PAGES and 200 <= capture.status < 300 \
                and not capture.revisit and "html" in (capture.content_type or ""):
            found = extract(read_record(home.warc_dir, capture.warc, capture.offset)
                            .payload(), capture.url)
            if found is not None and found.title and capture.id is not None:
                titles[capture.id] = found.title
    return titles


def _proof(home: Home, folder: Path, warc: Path, selection: Selection) -> None:
    """What a third party needs to check the export offline: a manifest of the exported
    WARC file signed with the home's key, its signature and the public key."""
    sources = sorted({c.warc for c in selection.records})
    signed = {e["name"]: e["sha256"] for e in _signed_files(home)}
    sign_manifest(folder, home.key_dir, [ManifestEntry(
        name=warc.name, sha256=file_sha256(warc), size=warc.stat().st_size)], {
        "software": f"vigil/{__version__}", "export": True,
        "copied_from": [{"name": n, "sha256": signed.get(n)} for n in sources]})
    (folder / PUBLIC_KEY).write_bytes((home.key_dir / PUBLIC_KEY).read_bytes())


def _signed_files(home: Home) -> list[dict[str, Any]]:
    manifest = latest_manifest(home.manifest_dir)
    if manifest is None:
        return []
    files: list[dict[str, Any]] = json.loads(manifest.read_text())["files"]
    return files


@dataclass(frozen=True)
class VerifyReport:
    captures: int
    manifests: int
    problems: list[dict[str, Any]]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_home(home: Home, store: Store, *, all_manifests: bool = False) -> VerifyReport:
    """Every WARC record against its index row, the latest (or every) signed manifest,
    and the custody chain; the check itself is logged in the chain."""
    problems = [p.__dict__ for p in verify_archive(store.captures, home.warc_dir)]
    latest = latest_manifest(home.manifest_dir)
    manifests = sorted(home.manifest_dir.glob("manifest-*.json")) if all_manifests \
        else [latest] if latest else []
    for manifest in manifests:
        problems += [{"file": p.file or p.manifest, "offset": None, "url": None,
                      "problem": f"{p.manifest}: {p.problem}"}
                     for p in check_manifest(manifest, home.key_dir / PUBLIC_KEY,
                                             home.warc_dir, all_manifests)]
    problems += [{"file": "vigil.db", "offset": None, "url": None,
                  "problem": f"custody log entry {p.entry} {p.problem}"}
                 for p in check_chain(store.db)]
    captures = store.captures.count()
    append(store.db, "verify", {"problems": len(problems), "captures": captures,
                                "manifests": len(manifests)})
    return VerifyReport(captures, len(manifests), problems)
