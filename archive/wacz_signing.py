"""A WACZ signed as the WACZ Signing and Verification spec says, so ReplayWeb.page shows it
signed: ``signedData`` (anonymous form, ECDSA) in ``datapackage-digest.json``.

Beside ``signedData`` the digest file carries what a recipient with only openssl can check:
an Ed25519 signature over ``datapackage.json`` and, with a TSA, an RFC 3161 token for it.
They sit outside ``signedData`` (the spec allows no other property there) and outside
``datapackage.json`` (which they sign): py-wacz's validate rejects any file not listed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archive.keyfiles import ECDSA_PUBLIC_KEY, PUBLIC_KEY
from archive.signing import (
    fingerprint,
    load_ecdsa_public,
    load_public,
    openssh,
    sign_ed25519,
    sign_raw_p1363,
    spki_base64,
)

DATAPACKAGE = "datapackage.json"
DIGEST_FILE = "datapackage-digest.json"
SIGNED_FIELDS = ("hash", "signature", "publicKey", "created", "software", "version")
ED25519_FIELD = "ed25519Signature"
TIMESTAMP_FIELD = "timestampToken"
LOGS = "logs/"
HOME_MANIFEST = LOGS + "home-"  # the archive's own signed manifest, as it was at export
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Extra:
    """A file the package adds under ``logs/`` (listed in datapackage.json like any)."""

    name: str
    data: bytes


@dataclass(frozen=True)
class Metadata:
    title: str
    software: str
    created: str  # RFC 3339, seconds: also signedData.created, which py-wacz compares
    description: str | None = None
    main_page_url: str | None = None
    main_page_date: str | None = None


def sha256_label(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _resource(name: str, data: bytes) -> dict[str, Any]:
    return {"name": Path(name).name.lower(), "path": name, "hash": sha256_label(data),
            "bytes": len(data)}


def datapackage(built: dict[str, Any], metadata: Metadata,
                extras: Sequence[Extra]) -> bytes:
    """py-wacz's datapackage.json with vigil's metadata and the added files listed."""
    package = dict(built)
    for stale in ("mainPageURL", "mainPageDate", "description"):
        package.pop(stale, None)
    package["resources"] = [*built["resources"],
                            *(_resource(LOGS + e.name, e.data) for e in extras)]
    package.update({"title": metadata.title, "created": metadata.created,
                    "software": metadata.software})
    if metadata.description:
        package["description"] = metadata.description
    if metadata.main_page_url:
        package["mainPageUrl"] = metadata.main_page_url
        if metadata.main_page_date:
            package["mainPageDate"] = metadata.main_page_date
    return json.dumps(package, indent=2, ensure_ascii=False).encode("utf-8")


def digest_document(data: bytes, key_dir: Path, metadata: Metadata,
                    token: bytes | None) -> bytes:
    """datapackage-digest.json: the hash of datapackage.json and the signatures over it."""
    digest = sha256_label(data)
    ecdsa = load_ecdsa_public(key_dir / ECDSA_PUBLIC_KEY)
    ed25519 = load_public(key_dir / PUBLIC_KEY)
    document: dict[str, Any] = {
        "path": DATAPACKAGE, "hash": digest,
        "signedData": {"hash": digest, "signature": sign_raw_p1363(key_dir, digest.encode()),
                       "publicKey": spki_base64(ecdsa), "created": metadata.created,
                       "software": metadata.software},
        ED25519_FIELD: {"publicKey": openssh(ed25519), "fingerprint": fingerprint(ed25519),
                        "signature": base64.b64encode(sign_ed25519(key_dir, data)).decode()},
    }
    if token is not None:
        document[TIMESTAMP_FIELD] = base64.b64encode(token).decode()
    return json.dumps(document, indent=2).encode("utf-8")


def finish_package(built: Path, output: Path, key_dir: Path, metadata: Metadata,
                   extras: Sequence[Extra], timestamp: Any = None) -> None:
    """Copy py-wacz's package ``built`` to ``output`` entry for entry (the WARC stays
    stored, for range requests), adding ``extras`` and vigil's metadata, then signing.
    ``timestamp``, if given, is called with datapackage.json's bytes for a TSA token."""
    partial = output.with_name(output.name + ".partial")
    with zipfile.ZipFile(built) as source, zipfile.ZipFile(partial, "w") as target:
        made = json.loads(source.read(DATAPACKAGE))
        for info in source.infolist():
            if info.filename in (DATAPACKAGE, DIGEST_FILE):
                continue
            copy = zipfile.ZipInfo(info.filename, info.date_time)
            copy.compress_type, copy.file_size = info.compress_type, info.file_size
            with source.open(info) as reader, target.open(copy, "w") as writer:
                shutil.copyfileobj(reader, writer, _CHUNK)
        for extra in extras:
            target.writestr(zipfile.ZipInfo(LOGS + extra.name, _zip_time(metadata.created)),
                            extra.data, compress_type=zipfile.ZIP_DEFLATED)
        data = datapackage(made, metadata, extras)
        token = timestamp(data) if timestamp is not None else None
        for name, body in ((DATAPACKAGE, data),
                           (DIGEST_FILE, digest_document(data, key_dir, metadata, token))):
            target.writestr(zipfile.ZipInfo(name, _zip_time(metadata.created)), body,
                            compress_type=zipfile.ZIP_DEFLATED)
    partial.replace(output)


def _zip_time(created: str) -> tuple[int, int, int, int, int, int]:
    day, time = created.rstrip("Z").split("T")
    year, month, date = (int(p) for p in day.split("-"))
    hour, minute, second = (int(float(p)) for p in time.split(":"))
    return (year, month, date, hour, minute, second)
