"""The archive home: where the database, WARC files and config live, and its config file."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archive.keyfiles import keys_present

DEFAULT_HOME = "vigil-data"

CONFIG_TEMPLATE = """\
# vigil configuration for this archive home.
# Every setting below is shown commented out at its default: uncomment to change it.

[archive]
# Written into the warcinfo record at the start of every WARC file, so that
# whoever reads the files later knows who made them and why.
# operator = "Jane Doe, Example Newsroom archive desk <archive@example.org>"
# description = "Sources preserved by the Example Newsroom archive desk"
#
# Start a new WARC file when the current one reaches this many bytes.
# max_file_size = 1000000000
#
# Cut a payload larger than this many bytes and mark it WARC-Truncated: length.
# max_payload = 100000000

[crawl]
# A page that tells site owners who runs this crawler and how to reach you.
# It is sent in the User-Agent: vigil/<version> (+<contact_url>).
# contact_url = "https://github.com/vigil-archive/vigil"
#
# Networks a URL found on a page may reach besides public addresses (a source's own host
# is always allowed): loopback, private and reserved ranges are refused otherwise.
# allow_networks = ["10.0.0.0/8"]

# Alert channels: apprise URLs (mailto://, slack://, json:// ...), one [[alerts]] each.
# Every event is sent once per channel; see README.md "Alerts".
# [[alerts]]
# name = "desk-email"
# url = "mailto://smtp.example.org:587?user=vigil&pass=secret&to=desk@example.org"
# sources = ["riverside-herald"]    # optional: only these sources (names or URLs)
# kinds = ["removed", "dead_link"]  # optional: only these event kinds

# An RFC 3161 time-stamping authority: each signed manifest and each export gets a token.
# [evidence]
# tsa_url = "https://tsa.example.org/tsr"
# tsa_cert = "tsa.pem"   # the TSA's certificate (PEM), to check the tokens; relative to this home

# Scrapy settings for every crawl from this home; `vigil crawl -s NAME=VALUE`
# overrides them for one run. Defaults are polite: see crawler/settings.py.
[crawl.scrapy]
# DOWNLOAD_DELAY = 1.0
# CONCURRENT_REQUESTS_PER_DOMAIN = 2
"""


class ConfigError(ValueError):
    """The home's config file cannot be read."""


@dataclass(frozen=True)
class Home:
    """Paths inside an archive home."""

    root: Path

    @property
    def db_path(self) -> Path:
        return self.root / "vigil.db"

    @property
    def warc_dir(self) -> Path:
        return self.root / "warcs"

    @property
    def config_path(self) -> Path:
        return self.root / "vigil.toml"

    @property
    def index_dir(self) -> Path:
        """Sorted CDXJ indexes of the closed WARC files, for replay."""
        return self.root / "indexes"

    @property
    def key_dir(self) -> Path:
        return self.root / "keys"

    @property
    def manifest_dir(self) -> Path:
        return self.root / "manifests"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    def exists(self) -> bool:
        return self.db_path.exists()

    def create(self) -> bool:
        """Create the directories and config (never overwriting it). True if it was new."""
        was_new = not self.exists()
        # The owner's only: the config holds alert channels' passwords, the keys sign the
        # evidence, and the database says what is watched.
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.root.stat().st_mode & 0o077:
            self.root.chmod(0o700)
        self.warc_dir.mkdir(exist_ok=True)
        self.log_dir.mkdir(exist_ok=True)
        if not self.config_path.exists():
            fd = os.open(self.config_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(CONFIG_TEMPLATE)
        elif self.config_path.stat().st_mode & 0o077:
            self.config_path.chmod(0o600)
        if not keys_present(self.key_dir):  # they sign the manifests of closed WARC files
            # Imported only to make them: the cryptography is a fifth of a quick command.
            from archive.signing import ensure_keys

            ensure_keys(self.key_dir)
        return was_new

    def config(self) -> dict[str, Any]:
        """The parsed config file ({} when there is none)."""
        if not self.config_path.exists():
            return {}
        try:
            with open(self.config_path, "rb") as handle:
                return tomllib.load(handle)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{self.config_path}: {exc}") from exc
