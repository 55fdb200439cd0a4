"""Trusted timestamps: with [evidence] tsa_url, each manifest and each package carries an
RFC 3161 token from a real TSA (openssl's, on loopback) that verify checks."""

from __future__ import annotations

import json
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tsa import LocalTsa

from conftest import Vigil
from crawler.demo.siteserver import Resource, SiteServer


@dataclass
class Stamped:
    vigil: Vigil
    tsa: LocalTsa
    before: datetime
    after: datetime


@pytest.fixture(scope="module")
def stamped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stamped]:
    vigil = Vigil(tmp_path_factory.mktemp("tsa") / "home")
    page = Resource(b"<html><body><article><h1>Notice</h1><p>Posted today.</p></article>"
                    b"</body></html>")
    with LocalTsa() as tsa, SiteServer({"/notice": page}, host="127.0.0.2") as site:
        vigil.run("add", site.url("/notice"), "--depth", "0")
        with open(vigil.home / "vigil.toml", "a") as config:
            config.write(f'\n[evidence]\ntsa_url = "{tsa.url}"\ntsa_cert = "{tsa.certificate}"\n')
        before = datetime.now(UTC).replace(microsecond=0)
        vigil.crawl()
        after = datetime.now(UTC)
        yield Stamped(vigil, tsa, before, after)


def _manifest(vigil: Vigil) -> Path:
    return sorted((vigil.home / "manifests").glob("manifest-*.json"))[-1]


def test_each_new_manifest_gets_a_token_that_verify_checks_and_prints(stamped: Stamped) -> None:
    manifest = _manifest(stamped.vigil)
    token = manifest.with_name(manifest.name + ".tsr")
    assert token.exists() and stamped.tsa.queries >= 1
    report = stamped.vigil.json("verify")
    assert report["ok"], report["problems"]
    [entry] = report["timestamps"]
    attested = datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))
    assert stamped.before - timedelta(seconds=1) <= attested <= stamped.after
    text = stamped.vigil.run("verify").stderr.decode()
    assert f"{manifest.name}: timestamped {entry['time']} by the TSA" in text
    checked = subprocess.run(["openssl", "ts", "-verify", "-in", str(token), "-data",
                              str(manifest), "-CAfile", str(stamped.tsa.certificate)],
                             capture_output=True, text=True)
    assert checked.returncode == 0 and "Verification: OK" in checked.stdout


def test_a_damaged_or_misplaced_token_fails_verify(stamped: Stamped, tmp_path: Path) -> None:
    import shutil

    copy = Vigil(tmp_path / "home")
    shutil.copytree(stamped.vigil.home, copy.home)
    manifest = _manifest(copy)
    token = manifest.with_name(manifest.name + ".tsr")
    good = token.read_bytes()
    token.write_bytes(good[:-40] + bytes([good[-40] ^ 1]) + good[-39:])
    result = copy.run("verify", "--json", ok=False)
    assert any("timestamp token" in p["problem"] for p in json.loads(result.stdout)["problems"])
    other = manifest.with_name("manifest-2026-01-01T000000000000Z.json")
    shutil.copy(manifest, other)  # a token for other bytes than the manifest beside it
    other.with_name(other.name + ".tsr").write_bytes(good)
    token.write_bytes(good)
    other.write_bytes(other.read_bytes().replace(b'"software"', b'"Software"'))
    result = copy.run("verify", "--json", ok=False)
    assert any(other.name in p["file"] and "timestamp token" in p["problem"]
               for p in json.loads(result.stdout)["problems"])


def test_the_package_carries_a_token_the_recipient_checks_with_the_tsa_certificate(
        stamped: Stamped, tmp_path: Path) -> None:
    package = tmp_path / "notice.wacz"
    stamped.vigil.run("export", "--wacz", str(package))
    with zipfile.ZipFile(package) as opened:
        digest = json.loads(opened.read("datapackage-digest.json"))
        names = opened.namelist()
    assert digest["timestampToken"]
    assert any(n.startswith("logs/home-manifest-") and n.endswith(".json.tsr") for n in names)
    result = stamped.vigil.run("verify", "--wacz", str(package), "--tsa-cert",
                               str(stamped.tsa.certificate), "--json", home=False)
    report = json.loads(result.stdout)
    assert report["ok"] and report["timestamp_checked"], report
    [(name, at)] = report["source_timestamps"].items()  # the archive's own manifest's
    assert name.startswith("logs/home-manifest-") and at <= report["timestamp"]
    assert report["timestamp"] >= stamped.before.isoformat().replace("+00:00", "Z")
    unchecked = stamped.vigil.run("verify", "--wacz", str(package), home=False)
    assert "(not checked: pass --tsa-cert)" in unchecked.stderr.decode()
    with LocalTsa(host="127.0.0.6") as stranger:
        result = stamped.vigil.run("verify", "--wacz", str(package), "--tsa-cert",
                                   str(stranger.certificate), ok=False, home=False)
    assert result.returncode == 1 and b"timestampToken" in result.stdout


def test_without_the_tsa_certificate_the_time_is_read_but_not_checked(
        stamped: Stamped, tmp_path: Path) -> None:
    import shutil

    copy = Vigil(tmp_path / "home")
    shutil.copytree(stamped.vigil.home, copy.home)
    config = copy.home / "vigil.toml"
    config.write_text("\n".join(line for line in config.read_text().splitlines()
                                if not line.startswith("tsa_cert")) + "\n")
    report = copy.json("verify")
    assert report["ok"] and [t["checked"] for t in report["timestamps"]] == [False]
    assert "(not checked: no [evidence] tsa_cert)" in copy.run("verify").stderr.decode()
