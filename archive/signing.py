"""Ed25519 keys and signed manifests of closed WARC files, checkable offline by anyone."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from archive.timeutil import utcnow, warc_date

PRIVATE_KEY = "vigil-ed25519.key"
PUBLIC_KEY = "vigil-ed25519.pub"
SIGNATURE_SUFFIX = ".sig"


class KeyError_(LookupError):
    """The home has no signing key."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def ensure_keys(key_dir: Path) -> bool:
    """Create the key pair once (the private key readable by the owner only)."""
    private = key_dir / PRIVATE_KEY
    if private.exists():
        return False
    key_dir.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    (key_dir / PUBLIC_KEY).write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return True


def _private(key_dir: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key((key_dir / PRIVATE_KEY).read_bytes(), None)
    except FileNotFoundError as exc:
        raise KeyError_(f"no signing key in {key_dir}") from exc
    assert isinstance(key, Ed25519PrivateKey)
    return key


def load_public(path: Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    assert isinstance(key, Ed25519PublicKey)
    return key


@dataclass(frozen=True)
class ManifestEntry:
    name: str
    sha256: str
    size: int


def sign_manifest(manifest_dir: Path, key_dir: Path, entries: Iterable[ManifestEntry],
                  about: dict[str, Any]) -> Path:
    """Write ``manifest-<time>.json`` listing the files and their SHA-256, and its detached
    Ed25519 signature ``.sig`` (base64) over the manifest's exact bytes."""
    manifest_dir.mkdir(parents=True, exist_ok=True)
    created = warc_date(utcnow())
    body = {"created": created, **about,
            "files": [e.__dict__ for e in sorted(entries, key=lambda e: e.name)]}
    data = json.dumps(body, indent=1, sort_keys=True).encode("utf-8")
    path = manifest_dir / f"manifest-{created.replace(':', '').replace('.', '')}.json"
    path.write_bytes(data)
    signature = base64.b64encode(_private(key_dir).sign(data))
    path.with_name(path.name + SIGNATURE_SUFFIX).write_bytes(signature + b"\n")
    return path


def latest_manifest(manifest_dir: Path) -> Path | None:
    found = sorted(manifest_dir.glob("manifest-*.json"))
    return found[-1] if found else None


@dataclass(frozen=True)
class ManifestProblem:
    manifest: str
    file: str | None
    problem: str


def check_manifest(manifest: Path, public_key: Path, warc_dir: Path,
                   check_signature: bool = True) -> list[ManifestProblem]:
    """The signature over the manifest, then each listed file's SHA-256."""
    problems: list[ManifestProblem] = []
    data = manifest.read_bytes()
    if check_signature:
        signature_path = manifest.with_name(manifest.name + SIGNATURE_SUFFIX)
        try:
            load_public(public_key).verify(base64.b64decode(signature_path.read_bytes()), data)
        except FileNotFoundError:
            problems.append(ManifestProblem(manifest.name, None, "no signature file"))
        except (InvalidSignature, ValueError):
            problems.append(ManifestProblem(manifest.name, None, "the signature does not "
                                            "match the manifest"))
    for entry in json.loads(data)["files"]:
        path = warc_dir / entry["name"]
        if not path.exists():
            problems.append(ManifestProblem(manifest.name, entry["name"], "file missing"))
        elif file_sha256(path) != entry["sha256"]:
            problems.append(ManifestProblem(manifest.name, entry["name"],
                                            "SHA-256 differs from the signed manifest"))
    return problems
