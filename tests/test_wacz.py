"""Signed WACZ exports: the WACZ signing spec as ReplayWeb.page checks it, the recipient's
check of the package alone, and what the package says of where its records came from."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from warcio.archiveiterator import ArchiveIterator

from archive.package_warc import warcinfo_member
from archive.signing import ensure_keys, sign_raw_p1363, spki_base64
from conftest import Vigil, next_second
from crawler.demo.replica import SEED_PATH
from crawler.demo.siteserver import Resource, SiteServer

NODE = shutil.which("node")

# What ReplayWeb.page (wabac.js) does with an anonymous signedData: import publicKey as
# SPKI on P-384, verify signature (r||s) over the UTF-8 bytes of hash with ECDSA/SHA-256.
WEBCRYPTO_CHECK = """
const fs = require("fs");
const digest = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
const s = digest.signedData;
(async () => {
  const key = await crypto.subtle.importKey("spki", Buffer.from(s.publicKey, "base64"),
    {name: "ECDSA", namedCurve: "P-384"}, true, ["verify"]);
  const ok = await crypto.subtle.verify({name: "ECDSA", hash: "SHA-256"}, key,
    Buffer.from(s.signature, "base64"), new TextEncoder().encode(s.hash));
  console.log(ok && s.hash === digest.hash ? "verified" : "not verified");
})();
"""


@dataclass
class Exported:
    vigil: Vigil
    seed: str
    package: Path
    manifest_key: str
    package_key: str


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exported]:
    from crawler.demo.replica import news_site, outside_site, quietly_edit

    root = tmp_path_factory.mktemp("wacz")
    vigil = Vigil(root / "home")
    with SiteServer(outside_site(), host="127.0.0.3") as outside, \
            SiteServer(news_site(outside.base), host="127.0.0.2") as news:
        vigil.run("add", news.url(SEED_PATH))
        vigil.crawl()
        next_second()  # the two captures fall in different seconds
        quietly_edit(news.routes, outside.routes, outside.base)
        vigil.crawl()
    package = root / "levee.wacz"
    vigil.run("export", "--wacz", str(package), "--source", "127.0.0.2")
    keys = vigil.json("keys")["keys"]
    yield Exported(vigil, news.url(SEED_PATH), package, keys[0]["fingerprint"],
                   keys[1]["fingerprint"])


def _check(vigil: Vigil, package: Path, *args: str) -> tuple[int, list[str]]:
    result = vigil.run("verify", "--wacz", str(package), *args, ok=False, home=False)
    return result.returncode, result.stdout.decode().splitlines()


def _rewritten(source: Path, out: Path, change: Callable[[str, bytes], bytes]) -> Path:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(out, "w") as new:
        for info in old.infolist():
            new.writestr(info, change(info.filename, old.read(info)))
    return out


def test_the_package_passes_wacz_validate_and_verifies_as_replaywebpage_does(
        exported: Exported, tmp_path: Path) -> None:
    check = subprocess.run([sys.executable, "-m", "wacz", "validate", "-f",
                            str(exported.package)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    with zipfile.ZipFile(exported.package) as package:
        digest = json.loads(package.read("datapackage-digest.json"))
        manifest = json.loads(package.read("datapackage.json"))
    signed = digest["signedData"]
    assert set(signed) == {"hash", "signature", "publicKey", "created", "software"}
    assert "timestampToken" not in digest  # no TSA configured
    assert signed["hash"] == digest["hash"] == "sha256:" + hashlib.sha256(
        zipfile.ZipFile(exported.package).read("datapackage.json")).hexdigest()
    assert signed["created"] == manifest["created"]
    assert signed["software"].startswith("vigil/") and manifest["software"] == signed["software"]
    key = serialization.load_der_public_key(base64.b64decode(signed["publicKey"]))
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp384r1"
    if NODE:
        (tmp_path / "digest.json").write_text(json.dumps(digest))
        webcrypto = subprocess.run([NODE, "-e", WEBCRYPTO_CHECK, str(tmp_path / "digest.json")],
                                   capture_output=True, text=True, check=True)
        assert webcrypto.stdout.strip() == "verified"


def test_the_recipient_check_passes_pinned_to_either_fingerprint(exported: Exported) -> None:
    for key in (exported.package_key, exported.manifest_key):
        code, lines = _check(exported.vigil, exported.package, "--trust", key)
        assert (code, lines) == (0, [])
    code, lines = _check(exported.vigil, exported.package, "--trust",
                         "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU")
    assert code == 1 and any("not the trusted key" in line for line in lines)


def test_any_flipped_byte_of_a_warc_in_the_package_fails(exported: Exported,
                                                        tmp_path: Path) -> None:
    with zipfile.ZipFile(exported.package) as package:
        name = next(n for n in package.namelist() if n.startswith("archive/"))
        size = package.getinfo(name).file_size
    for where in (size // 3, size // 2, size - 30):
        def flip(entry: str, data: bytes, at: int = where) -> bytes:
            return data[:at] + bytes([data[at] ^ 0x10]) + data[at + 1:] if entry == name \
                else data
        broken = _rewritten(exported.package, tmp_path / f"flip{where}.wacz", flip)
        code, lines = _check(exported.vigil, broken, "--trust", exported.package_key)
        assert code == 1 and any(line.startswith(name) for line in lines), (where, lines)


def _rehashed(source: Path, out: Path, change: Callable[[str, bytes], bytes]) -> Path:
    """The forger's edit: a file changed, datapackage.json's hashes and the digest file
    made to match, everything but the signature."""
    with zipfile.ZipFile(source) as old:
        files = {i.filename: change(i.filename, old.read(i)) for i in old.infolist()}
    manifest = json.loads(files["datapackage.json"])
    for resource in manifest["resources"]:
        data = files[resource["path"]]
        resource["hash"] = "sha256:" + hashlib.sha256(data).hexdigest()
        resource["bytes"] = len(data)
    files["datapackage.json"] = json.dumps(manifest, indent=2).encode()
    digest = json.loads(files["datapackage-digest.json"])
    digest["hash"] = "sha256:" + hashlib.sha256(files["datapackage.json"]).hexdigest()
    digest["signedData"]["hash"] = digest["hash"]
    files["datapackage-digest.json"] = json.dumps(digest).encode()
    with zipfile.ZipFile(out, "w") as new:
        for name, data in files.items():
            new.writestr(name, data)
    return out


def test_an_edited_pages_list_fails_even_with_every_hash_made_to_match(
        exported: Exported, tmp_path: Path) -> None:
    def retitle(name: str, data: bytes) -> bytes:
        return data.replace(b"levee gave way", b"levee held") if name.endswith("pages.jsonl") \
            else data
    edited = _rehashed(exported.package, tmp_path / "edited.wacz", retitle)
    code, lines = _check(exported.vigil, edited)
    assert code == 1 and any("signature does not match" in line for line in lines)
    assert any("ed25519Signature" in line for line in lines)


def test_a_package_re_signed_with_another_key_fails_only_when_the_key_is_pinned(
        exported: Exported, tmp_path: Path) -> None:
    forger = tmp_path / "forger-keys"
    ensure_keys(forger)
    public = serialization.load_pem_public_key((forger / "vigil-ecdsa-p384.pub").read_bytes())
    assert isinstance(public, ec.EllipticCurvePublicKey)

    def resign(name: str, data: bytes) -> bytes:
        if name != "datapackage-digest.json":
            return data
        digest = json.loads(data)
        digest.pop("ed25519Signature")
        digest["signedData"]["signature"] = sign_raw_p1363(forger, digest["hash"].encode())
        digest["signedData"]["publicKey"] = spki_base64(public)
        return json.dumps(digest).encode()
    forged = _rewritten(exported.package, tmp_path / "forged.wacz", resign)
    assert _check(exported.vigil, forged) == (0, [])  # it is signed, by someone
    for key in (exported.package_key, exported.manifest_key):
        code, lines = _check(exported.vigil, forged, "--trust", key)
        assert code == 1 and any("not the trusted key" in line for line in lines)


def test_the_package_carries_the_crawls_warcinfo_records_a_title_and_its_main_page(
        exported: Exported) -> None:
    with zipfile.ZipFile(exported.package) as package:
        manifest = json.loads(package.read("datapackage.json"))
        name = next(n for n in package.namelist() if n.startswith("archive/"))
        warc = package.read(name)
        pages = [json.loads(line) for line in package.read("pages/pages.jsonl").splitlines()]
    infos = [(r.rec_headers.get_header("WARC-Filename"), r.content_stream().read().decode())
             for r in ArchiveIterator(io.BytesIO(warc)) if r.rec_type == "warcinfo"]
    sources = {w.name: w for w in exported.vigil.warcs}
    assert sorted(name for name, _ in infos[1:]) == sorted(sources)
    for source in sources.values():  # byte for byte: the first member of each source file
        member = warcinfo_member(source)
        assert member is not None and member in warc
    assert all("http-header-user-agent: vigil/" in body and "robots:" in body
               for _, body in infos[1:])
    assert all(f"{name}#sha256:" in infos[0][1] for name in sources)
    assert manifest["title"] and manifest["software"].startswith("vigil/")
    assert manifest["mainPageUrl"] == exported.seed and manifest["mainPageDate"].endswith("Z")
    assert all(p.get("title") and p["title"] != p["url"] for p in pages[1:]), pages


def test_a_revisit_has_its_originals_title_in_the_pages_list(tmp_path: Path) -> None:
    page = Resource(b"<html><head><title>Statement | Herald</title></head><body><article>"
                    b"<h1>The council's statement</h1><p>" + b"Unchanged words. " * 40 +
                    b"</p></article></body></html>")
    vigil = Vigil(tmp_path / "home")
    with SiteServer({"/statement": page}, host="127.0.0.2") as site:
        vigil.run("add", site.url("/statement"), "--depth", "0")
        vigil.crawl()
        next_second()  # the two captures fall in different seconds
        vigil.crawl()
    history = vigil.json("history", site.url("/statement"))
    assert [h.get("revisit") for h in history] == [False, True], history
    vigil.run("export", "--wacz", str(tmp_path / "statement.wacz"))
    with zipfile.ZipFile(tmp_path / "statement.wacz") as package:
        lines = package.read("pages/pages.jsonl").splitlines()[1:]
    assert [json.loads(line)["title"] for line in lines] == ["The council's statement"] * 2


def test_a_recipient_with_only_openssl_checks_the_package(exported: Exported,
                                                          tmp_path: Path) -> None:
    """The procedure docs/recipient.md gives, run as a shell script."""
    script = tmp_path / "check.sh"
    script.write_text((Path(__file__).parent.parent / "docs" / "recipient.md").read_text()
                      .split("```sh\n", 1)[1].split("```", 1)[0])
    done = subprocess.run(["bash", "-e", str(script), str(exported.package)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert exported.manifest_key in done.stdout
    assert "Signature Verified Successfully" in done.stdout
