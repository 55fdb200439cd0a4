"""The archive's public keys as an archivist publishes them, and the pair verify trusts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from archive.keyfiles import BINDING, ECDSA_PUBLIC_KEY, PUBLIC_KEY
from archive.signing import (
    KeyError_,
    ensure_keys,
    fingerprint,
    load_ecdsa_public,
    load_public,
    openssh,
)
from crawler.app.home import Home

MANIFESTS_USE = "signs the home's manifests (vigil verify --trust)"
PACKAGES_USE = "signs WACZ packages (vigil verify --wacz FILE --trust)"


@dataclass(frozen=True)
class PublicKeyInfo:
    algorithm: str
    fingerprint: str
    openssh: str
    pem: str
    file: str
    use: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def public_keys(home: Home) -> list[PublicKeyInfo]:
    """The manifest key first, then the package key (both made now if missing)."""
    ensure_keys(home.key_dir)
    ed25519 = load_public(home.key_dir / PUBLIC_KEY)
    ecdsa = load_ecdsa_public(home.key_dir / ECDSA_PUBLIC_KEY)
    return [
        PublicKeyInfo("ed25519", fingerprint(ed25519), openssh(ed25519),
                      (home.key_dir / PUBLIC_KEY).read_text(), f"keys/{PUBLIC_KEY}",
                      MANIFESTS_USE),
        PublicKeyInfo("ecdsa-p384", fingerprint(ecdsa), openssh(ecdsa),
                      (home.key_dir / ECDSA_PUBLIC_KEY).read_text(),
                      f"keys/{ECDSA_PUBLIC_KEY}", PACKAGES_USE),
    ]


@dataclass(frozen=True)
class HomeKeys:
    """The public keys found in the home, as verify reads them (never creating any)."""

    ed25519: Ed25519PublicKey | None
    ecdsa: ec.EllipticCurvePublicKey | None
    binding: dict[str, Any] | None

    @classmethod
    def read(cls, home: Home) -> HomeKeys:
        """A key file that is missing or unreadable is None (verify then reports it)."""
        directory = home.key_dir
        try:
            ed25519: Ed25519PublicKey | None = load_public(directory / PUBLIC_KEY)
        except (OSError, ValueError, KeyError_):
            ed25519 = None
        try:
            ecdsa: ec.EllipticCurvePublicKey | None = load_ecdsa_public(
                directory / ECDSA_PUBLIC_KEY)
        except (OSError, ValueError, KeyError_):
            ecdsa = None
        try:
            binding = json.loads((directory / BINDING).read_text())
        except (OSError, ValueError):
            binding = None
        return cls(ed25519, ecdsa, binding if isinstance(binding, dict) else None)
