"""The names of a home's signing key files, checked without loading the cryptography."""

from __future__ import annotations

from pathlib import Path

PRIVATE_KEY = "vigil-ed25519.key"
PUBLIC_KEY = "vigil-ed25519.pub"
ECDSA_PRIVATE_KEY = "vigil-ecdsa-p384.key"
ECDSA_PUBLIC_KEY = "vigil-ecdsa-p384.pub"
BINDING = "vigil-keys.json"


def keys_present(key_dir: Path) -> bool:
    """Whether both private keys and the statement binding them are there (what
    ``archive.signing.ensure_keys`` would otherwise make)."""
    return all((key_dir / name).exists() for name in (PRIVATE_KEY, ECDSA_PRIVATE_KEY, BINDING))
