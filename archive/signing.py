"""The archive's two key pairs, their fingerprints and signed manifests of closed WARC files.

Ed25519 signs the home's manifests; ECDSA P-384 signs WACZ packages, as the WACZ signing
spec and ReplayWeb.page expect (it imports an anonymous signer's key as P-384). Each key
signs a statement naming both, so pinning either fingerprint pins the pair.
"""

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
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from archive.keyfiles import BINDING, ECDSA_PRIVATE_KEY, ECDSA_PUBLIC_KEY, PRIVATE_KEY, PUBLIC_KEY
from archive.timeutil import utcnow, warc_date

SIGNATURE_SUFFIX = ".sig"
MANIFEST_GLOB = "manifest-*.json"
_CURVE = ec.SECP384R1()
_COORDINATE = 48  # bytes of r and of s in a P-384 signature


class KeyError_(LookupError):
    """The home has no signing key."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_private(path: Path, key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    path.with_suffix(".pub").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


def ensure_keys(key_dir: Path) -> bool:
    """Create the key pairs once (private keys readable by the owner only), and the
    statement binding them. True if anything was made."""
    made = False
    key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not (key_dir / PRIVATE_KEY).exists():
        _write_private(key_dir / PRIVATE_KEY, Ed25519PrivateKey.generate())
        made = True
    if not (key_dir / ECDSA_PRIVATE_KEY).exists():
        _write_private(key_dir / ECDSA_PRIVATE_KEY, ec.generate_private_key(_CURVE))
        made = True
    if made or not (key_dir / BINDING).exists():
        _write_binding(key_dir)
    return made


def _private(key_dir: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key((key_dir / PRIVATE_KEY).read_bytes(), None)
    except FileNotFoundError as exc:
        raise KeyError_(f"no signing key in {key_dir}") from exc
    assert isinstance(key, Ed25519PrivateKey)
    return key


def _ecdsa_private(key_dir: Path) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key((key_dir / ECDSA_PRIVATE_KEY).read_bytes(),
                                                 None)
    except FileNotFoundError as exc:
        raise KeyError_(f"no WACZ signing key in {key_dir}") from exc
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def load_public(path: Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise KeyError_(f"{path.name} is not an Ed25519 public key")
    return key


def load_ecdsa_public(path: Path) -> ec.EllipticCurvePublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise KeyError_(f"{path.name} is not an ECDSA public key")
    return key


PublicKey = Ed25519PublicKey | ec.EllipticCurvePublicKey


def openssh(key: PublicKey) -> str:
    """The key as one OpenSSH ``authorized_keys`` line (``ssh-ed25519 AAAA…``)."""
    return key.public_bytes(serialization.Encoding.OpenSSH,
                            serialization.PublicFormat.OpenSSH).decode("ascii")


def fingerprint(key: PublicKey) -> str:
    """``SHA256:<base64, unpadded>`` of the key's SSH wire blob, as ssh-keygen -l shows it."""
    blob = base64.b64decode(openssh(key).split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def spki_base64(key: ec.EllipticCurvePublicKey) -> str:
    """The key as WACZ ``publicKey`` holds it: base64 of its DER SubjectPublicKeyInfo."""
    return base64.b64encode(key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()


def _statement(key_dir: Path) -> bytes:
    return json.dumps({"ed25519": openssh(load_public(key_dir / PUBLIC_KEY)),
                       "ecdsa": openssh(load_ecdsa_public(key_dir / ECDSA_PUBLIC_KEY))},
                      sort_keys=True).encode()


def _write_binding(key_dir: Path) -> None:
    statement = _statement(key_dir)
    ecdsa = _ecdsa_private(key_dir).sign(statement, ec.ECDSA(hashes.SHA256()))
    (key_dir / BINDING).write_text(json.dumps({
        "statement": json.loads(statement),
        "ed25519_signature": base64.b64encode(_private(key_dir).sign(statement)).decode(),
        "ecdsa_signature": base64.b64encode(ecdsa).decode()}, indent=1) + "\n")


def binding_holds(binding: dict[str, Any], ed25519: Ed25519PublicKey,
                  ecdsa: ec.EllipticCurvePublicKey) -> bool:
    """Whether the statement names these two keys and each of them signed it."""
    statement = json.dumps(binding.get("statement"), sort_keys=True).encode()
    if binding.get("statement") != {"ed25519": openssh(ed25519), "ecdsa": openssh(ecdsa)}:
        return False
    try:
        ed25519.verify(base64.b64decode(binding["ed25519_signature"]), statement)
        ecdsa.verify(base64.b64decode(binding["ecdsa_signature"]), statement,
                     ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, KeyError, ValueError, TypeError):
        return False
    return True


def sign_raw_p1363(key_dir: Path, message: bytes) -> str:
    """ECDSA P-384 / SHA-256 signature, base64 of r‖s as WebCrypto makes and checks it."""
    der = _ecdsa_private(key_dir).sign(message, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return base64.b64encode(r.to_bytes(_COORDINATE, "big") + s.to_bytes(_COORDINATE, "big")
                            ).decode()


def verify_raw_p1363(key: ec.EllipticCurvePublicKey, signature: str, message: bytes) -> bool:
    raw = base64.b64decode(signature, validate=True)
    half = len(raw) // 2
    if len(raw) % 2 or not half:
        return False
    der = encode_dss_signature(int.from_bytes(raw[:half], "big"),
                               int.from_bytes(raw[half:], "big"))
    try:
        key.verify(der, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def sign_ed25519(key_dir: Path, message: bytes) -> bytes:
    return _private(key_dir).sign(message)


@dataclass(frozen=True)
class ManifestEntry:
    name: str
    sha256: str
    size: int


# A manifest with ``"lists": "changes"`` lists only the files added or changed since the
# manifest before it, and in ``deletions`` the files deleted since (each with the custody
# entry that logged it): what the chain signs is the union, each file at its latest hash.
# A manifest without it (all of them before, and an export's) lists every file.
LISTS = "lists"
CHANGES = "changes"
DELETIONS = "deletions"


@dataclass(frozen=True)
class Deletion:
    name: str
    sha256: str
    custody: int  # the position of the custody entry that logged it


def sign_manifest(manifest_dir: Path, key_dir: Path, entries: Iterable[ManifestEntry],
                  about: dict[str, Any], *,
                  changes: Iterable[Deletion] | None = None) -> Path:
    """Write ``manifest-<time>.json`` listing the files and their SHA-256 and naming the
    manifest before it (so none can be taken out unseen), and its detached Ed25519
    signature ``.sig`` (base64) over the manifest's exact bytes. With ``changes`` (the
    deletions since the manifest before), ``entries`` are what changed since it."""
    manifest_dir.mkdir(parents=True, exist_ok=True)
    created = warc_date(utcnow())
    before = latest_manifest(manifest_dir)
    previous = {"name": before.name, "sha256": file_sha256(before)} if before else None
    body = {"created": created, **about, "previous": previous,
            "files": [e.__dict__ for e in sorted(entries, key=lambda e: e.name)]}
    if changes is not None:
        body[LISTS] = CHANGES
        body[DELETIONS] = [d.__dict__ for d in sorted(changes, key=lambda d: d.custody)]
    data = json.dumps(body, indent=1, sort_keys=True).encode("utf-8")
    path = manifest_dir / f"manifest-{created.replace(':', '').replace('.', '')}.json"
    path.write_bytes(data)
    signature = base64.b64encode(_private(key_dir).sign(data))
    path.with_name(path.name + SIGNATURE_SUFFIX).write_bytes(signature + b"\n")
    return path


def manifests(manifest_dir: Path) -> list[Path]:
    """Every manifest, oldest first (their names sort by time)."""
    return sorted(manifest_dir.glob(MANIFEST_GLOB))


def latest_manifest(manifest_dir: Path) -> Path | None:
    found = manifests(manifest_dir)
    return found[-1] if found else None


class BadSignature(ValueError):
    """A manifest's signature is missing or does not match it."""


def check_signature(manifest: Path, public_key: Ed25519PublicKey) -> None:
    """Raise BadSignature unless the ``.sig`` beside the manifest is the key's over it."""
    signature_path = manifest.with_name(manifest.name + SIGNATURE_SUFFIX)
    try:
        public_key.verify(base64.b64decode(signature_path.read_bytes()), manifest.read_bytes())
    except FileNotFoundError as exc:
        raise BadSignature("no signature file") from exc
    except (InvalidSignature, ValueError) as exc:
        raise BadSignature("the signature does not match the manifest") from exc


def trust_problem(trust: str, ed25519: Ed25519PublicKey | None,
                  ecdsa: ec.EllipticCurvePublicKey | None,
                  binding: dict[str, Any] | None) -> str | None:
    """Why the keys in hand are not the pinned one, or None. The pin may be either key's
    fingerprint: the other key counts only if the binding statement both signed names it."""
    wanted = trust.strip()
    if not wanted.startswith("SHA256:"):
        wanted = "SHA256:" + wanted
    wanted = wanted.rstrip("=")
    keys = [k for k in (ed25519, ecdsa) if k is not None]
    if not any(fingerprint(k) == wanted for k in keys):
        shown = ", ".join(fingerprint(k) for k in keys) or "none"
        return f"signed by key {shown}, not the trusted key {wanted}"
    if ed25519 is not None and ecdsa is not None and \
            not (binding is not None and binding_holds(binding, ed25519, ecdsa)):
        return "the two keys are not bound to each other by a statement both signed"
    return None
