"""The home's signed manifests checked together: signatures, their order, coverage, custody."""

from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlite_utils import Database

from archive.custody import CAPTURE, DELETION, Head, check_anchor, entries
from archive.signing import BadSignature, check_signature, file_sha256, manifests

WARC_GLOB = "*.warc.gz"


@dataclass(frozen=True)
class ManifestProblem:
    manifest: str
    file: str | None
    problem: str


@dataclass(frozen=True)
class _Signed:
    path: Path
    body: dict[str, Any]

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        return {e["name"]: e for e in self.body.get("files", [])}

    @property
    def anchor(self) -> Head | None:
        custody = self.body.get("custody")
        if not isinstance(custody, dict):
            return None  # a manifest made before manifests carried the chain's head
        return Head(int(custody["entries"]), str(custody["head"]))


def deleted_files(db: Database) -> set[str]:
    """The WARC files whose deletion the custody log records."""
    return {str(detail.get("file")) for _, detail in entries(db, DELETION)}


def check_manifests(manifest_dir: Path, warc_dir: Path, db: Database,
                    public_key: Ed25519PublicKey) -> list[ManifestProblem]:
    """Every manifest's signature, each naming the one before it, each reaching into the
    custody chain it signed; then the latest one against the WARC files on disk: every
    file listed, every listed file there with its SHA-256, none dropped unlogged."""
    problems: list[ManifestProblem] = []
    signed: list[_Signed] = []
    for path in manifests(manifest_dir):
        try:
            check_signature(path, public_key)
        except BadSignature as exc:
            problems.append(ManifestProblem(path.name, None, str(exc)))
        try:
            body = json.loads(path.read_bytes())
        except ValueError:
            problems.append(ManifestProblem(path.name, None, "not readable as JSON"))
            continue
        if "previous" in body:
            before = signed[-1].path if signed else None
            expected = {"name": before.name, "sha256": file_sha256(before)} if before else None
            if body["previous"] != expected:
                problems.append(ManifestProblem(path.name, None, "does not follow the "
                                                "manifest before it (one was removed or "
                                                "replaced)"))
        current = _Signed(path, body)
        if current.anchor is not None and (why := check_anchor(db, current.anchor)):
            problems.append(ManifestProblem(path.name, "vigil.db", f"the custody log {why}"))
        signed.append(current)
    problems += _dropped(signed, deleted_files(db))
    problems += _coverage(signed[-1] if signed else None, warc_dir)
    if signed and (anchor := signed[-1].anchor) is not None:
        for position, _ in entries(db, CAPTURE):
            if position > anchor.entries:
                problems.append(ManifestProblem(
                    signed[-1].path.name, "vigil.db", f"custody log entry {position} "
                    "(a capture) is in no signed manifest"))
    return problems


def _dropped(signed: list[_Signed], deleted: set[str]) -> list[ManifestProblem]:
    problems = []
    for earlier, later in pairwise(signed):
        for name in sorted(set(earlier.files) - set(later.files) - deleted):
            problems.append(ManifestProblem(
                later.path.name, name, f"listed in {earlier.path.name}, left out of this "
                "manifest with no deletion in the custody log"))
    return problems


def _coverage(latest: _Signed | None, warc_dir: Path) -> list[ManifestProblem]:
    listed = latest.files if latest else {}
    where = latest.path.name if latest else "(no signed manifest)"
    problems = []
    for path in sorted(warc_dir.glob(WARC_GLOB)):
        if path.name not in listed:
            problems.append(ManifestProblem(where, path.name, "WARC file not listed in the "
                                            "latest signed manifest"))
    for name, entry in sorted(listed.items()):
        path = warc_dir / name
        if not path.exists():
            problems.append(ManifestProblem(where, name, "listed in the latest signed "
                                            "manifest, file missing"))
        elif file_sha256(path) != entry.get("sha256"):
            problems.append(ManifestProblem(where, name, "SHA-256 differs from the signed "
                                            "manifest"))
    return problems
