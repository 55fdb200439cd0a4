"""The home's signed manifests checked together: signatures, their order, coverage, custody."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlite_utils import Database

from archive.custody import CAPTURE, DELETION, Head, check_anchor, entries
from archive.signing import (
    CHANGES,
    DELETIONS,
    LISTS,
    BadSignature,
    check_signature,
    file_sha256,
    manifests,
)

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
    def incremental(self) -> bool:
        """Whether it lists the changes since the manifest before it, not every file."""
        return bool(self.body.get(LISTS) == CHANGES)

    @property
    def deletions(self) -> list[str]:
        return [str(d.get("name")) for d in self.body.get(DELETIONS, [])
                if isinstance(d, dict)]

    @property
    def anchor(self) -> Head | None:
        custody = self.body.get("custody")
        if not isinstance(custody, dict):
            return None  # a manifest made before manifests carried the chain's head
        return Head(int(custody["entries"]), str(custody["head"]))


@dataclass(frozen=True)
class SignedFile:
    """A file as the chain of manifests signs it: its latest entry, and the manifest."""

    entry: dict[str, Any]
    manifest: Path


def _read(path: Path) -> _Signed | None:
    try:
        body = json.loads(path.read_bytes())
    except ValueError:
        return None
    return _Signed(path, body) if isinstance(body, dict) else None


def _apply(state: dict[str, SignedFile], signed: _Signed) -> None:
    """One manifest over the files the chain signed before it."""
    if not signed.incremental:
        state.clear()
    for name in signed.deletions:
        state.pop(name, None)
    for name, entry in signed.files.items():
        state[name] = SignedFile(entry, signed.path)


def signed_files(manifest_dir: Path) -> dict[str, SignedFile]:
    """Every file the manifests sign, each at its latest hash: the union over the chain
    (a manifest that lists every file starts it afresh). Signatures are not checked here:
    ``check_manifests`` does that."""
    state: dict[str, SignedFile] = {}
    for path in manifests(manifest_dir):
        if (signed := _read(path)) is not None:
            _apply(state, signed)
    return state


def deleted_files(db: Database) -> set[str]:
    """The WARC files whose deletion the custody log records."""
    return {str(detail.get("file")) for _, detail in entries(db, DELETION)}


def check_manifests(manifest_dir: Path, warc_dir: Path, db: Database,
                    public_key: Ed25519PublicKey) -> list[ManifestProblem]:
    """Every manifest's signature, each naming the one before it, each reaching into the
    custody chain it signed; then what the chain signs (the union of the files each lists,
    at their latest hashes) against the WARC files on disk: every file listed, every listed
    file there with its SHA-256, none dropped without a logged deletion."""
    problems: list[ManifestProblem] = []
    deleted = deleted_files(db)
    state: dict[str, SignedFile] = {}
    latest: _Signed | None = None
    for path in manifests(manifest_dir):
        try:
            check_signature(path, public_key)
        except BadSignature as exc:
            problems.append(ManifestProblem(path.name, None, str(exc)))
        current = _read(path)
        if current is None:
            problems.append(ManifestProblem(path.name, None, "not readable as JSON"))
            continue
        if "previous" in current.body:
            before = latest.path if latest else None
            expected = {"name": before.name, "sha256": file_sha256(before)} if before else None
            if current.body["previous"] != expected:
                problems.append(ManifestProblem(path.name, None, "does not follow the "
                                                "manifest before it (one was removed or "
                                                "replaced)"))
        if current.anchor is not None and (why := check_anchor(db, current.anchor)):
            problems.append(ManifestProblem(path.name, "vigil.db", f"the custody log {why}"))
        problems += _dropped(state, current, deleted)
        _apply(state, current)
        latest = current
    problems += _coverage(state, latest, warc_dir)
    if latest is not None and (anchor := latest.anchor) is not None:
        for position, _ in entries(db, CAPTURE):
            if position > anchor.entries:
                problems.append(ManifestProblem(
                    latest.path.name, "vigil.db", f"custody log entry {position} "
                    "(a capture) is in no signed manifest"))
    return problems


def _dropped(state: dict[str, SignedFile], current: _Signed,
             deleted: set[str]) -> list[ManifestProblem]:
    """Files signed before that ``current`` leaves out (a full listing) or deletes (a
    listing of changes) with no deletion in the custody log."""
    if current.incremental:
        gone = set(current.deletions) & set(state)
    else:
        gone = set(state) - set(current.files)
    return [ManifestProblem(current.path.name, name, f"listed in {state[name].manifest.name}, "
                            "left out of this manifest with no deletion in the custody log")
            for name in sorted(gone - deleted)]


def _coverage(state: dict[str, SignedFile], latest: _Signed | None,
              warc_dir: Path) -> list[ManifestProblem]:
    where = latest.path.name if latest else "(no signed manifest)"
    problems = []
    for path in sorted(warc_dir.glob(WARC_GLOB)):
        if path.name not in state:
            problems.append(ManifestProblem(where, path.name, "WARC file not listed in the "
                                            "latest signed manifest or any before it"))
    for name, signed in sorted(state.items()):
        path = warc_dir / name
        if not path.exists():
            problems.append(ManifestProblem(signed.manifest.name, name, "listed in a signed "
                                            "manifest, file missing"))
        elif file_sha256(path) != signed.entry.get("sha256"):
            problems.append(ManifestProblem(signed.manifest.name, name, "SHA-256 differs "
                                            "from the signed manifest"))
    return problems
