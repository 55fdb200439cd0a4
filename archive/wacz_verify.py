"""A recipient's check of a signed WACZ alone: every file, the digest, the signature, the
pinned key, the trusted timestamp and every WARC record's digests."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from archive.keyfiles import BINDING
from archive.signing import (
    SIGNATURE_SUFFIX,
    fingerprint,
    trust_problem,
    verify_raw_p1363,
)
from archive.timestamping import TOKEN_SUFFIX, TimestampError, token_time, verify_timestamp
from archive.verify import check_records
from archive.wacz_signing import (
    DATAPACKAGE,
    DIGEST_FILE,
    ED25519_FIELD,
    HOME_MANIFEST,
    LOGS,
    SIGNED_FIELDS,
    TIMESTAMP_FIELD,
    sha256_label,
)

_CHUNK = 1 << 20
_WARC_SUFFIX = ".warc.gz"  # the gzip members check_records walks


@dataclass
class PackageReport:
    problems: list[str] = field(default_factory=list)
    fingerprint: str | None = None  # of the key in signedData
    created: str | None = None
    timestamp: datetime | None = None  # what the TSA attests for datapackage.json
    timestamp_checked: bool = False  # against the TSA certificate the recipient gave
    files: int = 0
    warcs_checked: int = 0
    # What a TSA attests for the archive's own manifest of the source WARC files, by name.
    source_timestamps: dict[str, datetime] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def _hash(stream: IO[bytes]) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    for chunk in iter(lambda: stream.read(_CHUNK), b""):
        digest.update(chunk)
        size += len(chunk)
    return "sha256:" + digest.hexdigest(), size


def verify_package(path: Path, trust: str | None = None,
                   tsa_roots: list[x509.Certificate] | None = None) -> PackageReport:
    """Every problem found, one line each; an unreadable package is one problem."""
    report = PackageReport()
    try:
        with zipfile.ZipFile(path) as package:
            _check(package, report, trust, tsa_roots or [])
    except (zipfile.BadZipFile, OSError) as exc:
        report.problems.append(f"{path.name}: not a readable WACZ: {exc}")
    return report


def _json(package: zipfile.ZipFile, name: str, report: PackageReport) -> Any:
    try:
        return json.loads(package.read(name))
    except KeyError:
        report.problems.append(f"{name}: missing")
    except ValueError as exc:
        report.problems.append(f"{name}: not readable JSON: {exc}")
    return None


def _check(package: zipfile.ZipFile, report: PackageReport, trust: str | None,
           roots: list[x509.Certificate]) -> None:
    manifest = _json(package, DATAPACKAGE, report)
    digest = _json(package, DIGEST_FILE, report)
    if not isinstance(manifest, dict) or not isinstance(digest, dict):
        return
    _check_files(package, manifest, report)
    data = package.read(DATAPACKAGE)
    if digest.get("path") != DATAPACKAGE or digest.get("hash") != sha256_label(data):
        report.problems.append(f"{DIGEST_FILE}: its hash is not that of {DATAPACKAGE}")
    ecdsa = _check_signed_data(digest.get("signedData"), sha256_label(data),
                               manifest.get("created"), report)
    ed25519 = _check_ed25519(digest.get(ED25519_FIELD), data, report)
    if trust:
        binding = _binding(package)
        why = trust_problem(trust, ed25519, ecdsa, binding)
        if why:
            report.problems.append(f"{DIGEST_FILE}: {why}")
    if TIMESTAMP_FIELD in digest:
        _check_timestamp(digest[TIMESTAMP_FIELD], data, roots, report)
    _check_home_manifests(package, ed25519, roots, report)
    _check_records(package, manifest, report)


def _check_files(package: zipfile.ZipFile, manifest: dict[str, Any],
                 report: PackageReport) -> None:
    names = set(package.namelist())
    listed = set()
    for resource in manifest.get("resources", []):
        name = resource.get("path", "")
        listed.add(name)
        if name not in names:
            report.problems.append(f"{name}: listed in {DATAPACKAGE}, missing")
            continue
        with package.open(name) as stream:
            found, size = _hash(stream)
        report.files += 1
        if found != resource.get("hash"):
            report.problems.append(f"{name}: SHA-256 differs from {DATAPACKAGE}")
        elif size != resource.get("bytes"):
            report.problems.append(f"{name}: size differs from {DATAPACKAGE}")
    for name in sorted(names - listed - {DATAPACKAGE, DIGEST_FILE}):
        report.problems.append(f"{name}: not listed in {DATAPACKAGE}")


def _check_signed_data(signed: Any, digest: str, created: Any,
                       report: PackageReport) -> ec.EllipticCurvePublicKey | None:
    where = f"{DIGEST_FILE}: signedData"
    if not isinstance(signed, dict):
        report.problems.append(f"{where}: missing (the package is not signed)")
        return None
    if extra := sorted(set(signed) - set(SIGNED_FIELDS)):
        report.problems.append(f"{where}: properties the spec does not allow: {extra}")
    if signed.get("hash") != digest:
        report.problems.append(f"{where}: signs another hash than {DATAPACKAGE}'s")
    report.created = signed.get("created")
    if signed.get("created") != created:
        report.problems.append(f"{where}: created differs from {DATAPACKAGE}'s")
    try:
        key = serialization.load_der_public_key(base64.b64decode(signed["publicKey"]))
    except (KeyError, ValueError, TypeError):
        report.problems.append(f"{where}: no readable publicKey")
        return None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        report.problems.append(f"{where}: publicKey is not an ECDSA key")
        return None
    report.fingerprint = fingerprint(key)
    try:
        valid = verify_raw_p1363(key, str(signed.get("signature", "")),
                                 str(signed.get("hash", "")).encode())
    except ValueError:
        valid = False
    if not valid:
        report.problems.append(f"{where}: the signature does not match")
    return key


def _check_ed25519(block: Any, data: bytes, report: PackageReport) -> Ed25519PublicKey | None:
    if block is None:
        return None
    where = f"{DIGEST_FILE}: {ED25519_FIELD}"
    try:
        key = serialization.load_ssh_public_key(str(block["publicKey"]).encode())
        if not isinstance(key, Ed25519PublicKey):
            raise TypeError("not an Ed25519 key")
        key.verify(base64.b64decode(block["signature"]), data)
    except (KeyError, ValueError, TypeError, InvalidSignature, AttributeError):
        report.problems.append(f"{where}: does not verify over {DATAPACKAGE}")
        return None
    return key


def _binding(package: zipfile.ZipFile) -> dict[str, Any] | None:
    try:
        found = json.loads(package.read(LOGS + BINDING))
    except (KeyError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def _check_timestamp(encoded: Any, data: bytes, roots: list[x509.Certificate],
                     report: PackageReport) -> None:
    where = f"{DIGEST_FILE}: {TIMESTAMP_FIELD}"
    try:
        token = base64.b64decode(str(encoded), validate=True)
        if roots:
            report.timestamp = verify_timestamp(token, data, roots)
            report.timestamp_checked = True
        else:
            report.timestamp = token_time(token)
    except (TimestampError, ValueError) as exc:
        report.problems.append(f"{where}: {exc}")


def _check_home_manifests(package: zipfile.ZipFile, ed25519: Ed25519PublicKey | None,
                          roots: list[x509.Certificate], report: PackageReport) -> None:
    """The archive's manifest carried under logs/: its Ed25519 signature and, if it has
    one, its timestamp token (listed files are already covered by datapackage.json)."""
    names = set(package.namelist())
    for name in sorted(n for n in names if n.startswith(HOME_MANIFEST) and n.endswith(".json")):
        body = package.read(name)
        if ed25519 is not None and name + SIGNATURE_SUFFIX in names:
            try:
                ed25519.verify(base64.b64decode(package.read(name + SIGNATURE_SUFFIX)), body)
            except (InvalidSignature, ValueError):
                report.problems.append(f"{name}: its signature does not match")
        if name + TOKEN_SUFFIX in names:
            token = package.read(name + TOKEN_SUFFIX)
            try:
                report.source_timestamps[name] = verify_timestamp(token, body, roots) \
                    if roots else token_time(token)
            except TimestampError as exc:
                report.problems.append(f"{name}{TOKEN_SUFFIX}: {exc}")


def _check_records(package: zipfile.ZipFile, manifest: dict[str, Any],
                   report: PackageReport) -> None:
    for resource in manifest.get("resources", []):
        name = str(resource.get("path", ""))
        if not name.endswith(_WARC_SUFFIX) or name not in package.namelist():
            continue
        with tempfile.TemporaryDirectory(prefix="vigil-wacz-") as work:
            copy = Path(work) / Path(name).name
            with package.open(name) as reader, open(copy, "wb") as writer:
                shutil.copyfileobj(reader, writer, _CHUNK)
            for problem in check_records(copy):
                at = f"@{problem.offset}" if problem.offset is not None else ""
                report.problems.append(f"{name}{at}: {problem.url or ''} {problem.problem}")
            report.warcs_checked += 1
