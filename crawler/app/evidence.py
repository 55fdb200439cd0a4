"""Proof for a third party: signed WACZ packages of chosen captures, the whole home's check,
a package's check by its recipient, and the one sanctioned way to delete a WARC file."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from archive.custody import DELETION, EXPORT, VERIFY, append, check_chain
from archive.export import Selection, pages_jsonl, select
from archive.found_by import ARTICLE_PAGES
from archive.index import Capture
from archive.keyfiles import BINDING, ECDSA_PUBLIC_KEY, PUBLIC_KEY
from archive.manifests import check_manifests, signed_files
from archive.package_warc import write_package_warc
from archive.reader import read_record
from archive.replayindex import resolve_wacz
from archive.signing import (
    SIGNATURE_SUFFIX,
    ManifestEntry,
    ensure_keys,
    file_sha256,
    fingerprint,
    latest_manifest,
    manifests,
    sign_manifest,
    trust_problem,
)
from archive.timestamping import (
    TOKEN_SUFFIX,
    TimestampError,
    load_certificates,
    request_timestamp,
    token_time,
    verify_timestamp,
)
from archive.timeutil import iso_seconds, parse_stored, utcnow
from archive.verify import verify_archive
from archive.wacz_signing import HOME_MANIFEST, LOGS, Extra, Metadata, finish_package
from archive.wacz_verify import PackageReport, verify_package
from crawler import __version__
from crawler.app.home import Home
from crawler.app.keys import HomeKeys
from crawler.app.provenance import Evidence, sign_home_manifest
from crawler.app.store import Store
from monitor.detect import within_read_limit
from monitor.extract import extract

SOFTWARE = f"vigil/{__version__}"


class NothingToExport(LookupError):
    """No capture matches the export's selection."""


class PackagingError(RuntimeError):
    """The WACZ packager failed."""


@dataclass(frozen=True)
class ExportResult:
    output: Path
    captures: int
    records: int
    sha256: str
    timestamped: bool = False


def choose_captures(store: Store, sources: Iterable[str], since: datetime | None,
                    until: datetime | None) -> list[Capture]:
    """The captures of the named sources (all, if none) from ``since`` up to ``until``,
    both ends included."""
    names = list(sources)
    ids = {s.id for s in store.select_sources(names)} if names else None
    return [c for c in store.captures.all()
            if (ids is None or c.source_id in ids)
            and (since is None or c.moment >= since) and (until is None or c.moment <= until)]


def export_wacz(home: Home, store: Store, output: Path, sources: Iterable[str] = (),
                since: datetime | None = None, until: datetime | None = None) -> ExportResult:
    """Package the chosen captures as a WACZ signed per the WACZ signing spec (and with
    Ed25519 and, given a TSA, a trusted timestamp), and log the export in the custody
    chain."""
    names = list(sources)
    chosen = choose_captures(store, names, since, until)
    if not chosen:
        raise NothingToExport("no captures match")
    ensure_keys(home.key_dir)
    selection = select(store.captures, chosen)
    signed = _signed_files(home)
    created = iso_seconds(utcnow())
    evidence = Evidence.of(home)
    stamp = _timestamper(evidence.tsa_url)
    with tempfile.TemporaryDirectory(prefix="vigil-export-") as work:
        folder = Path(work)
        warc = folder / f"{output.stem}.warc.gz"
        copied = write_package_warc(selection, home.warc_dir, warc, {
            "software": SOFTWARE, "format": "WARC File Format 1.1",
            "description": f"vigil export of {len(selection.captures)} captures from "
                           f"{home.root.name}"}, signed)
        pages_jsonl(selection.captures, _titles(home, store, selection.captures),
                    folder / "pages.jsonl")
        built = folder / "built.wacz"
        command = [sys.executable, "-m", "wacz", "create", "-o", str(built),
                   "-p", str(folder / "pages.jsonl"), str(warc)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0 or not built.exists():
            raise PackagingError(f"wacz could not package the export: "
                                 f"{done.stderr.strip()[-300:]}")
        resolve_wacz(built)  # 304 revisits replay in ReplayWeb.page (archive/replayindex.py)
        metadata = _metadata(home, store, names, selection, created)
        finish_package(built, output, home.key_dir, metadata,
                       _extras(home, folder, warc, selection, signed), stamp)
    digest = file_sha256(output)
    append(store.db, EXPORT, {"file": output.name, "sha256": digest,
                              "captures": len(selection.captures), "records": copied})
    return ExportResult(output, len(selection.captures), copied, digest, stamp is not None)


def _timestamper(url: str | None) -> Callable[[bytes], bytes] | None:
    if not url:
        return None

    def stamp(data: bytes) -> bytes:
        try:
            return request_timestamp(url, data)
        except TimestampError as exc:
            raise PackagingError(str(exc)) from exc
    return stamp


def _metadata(home: Home, store: Store, names: list[str], selection: Selection,
              created: str) -> Metadata:
    source_ids = {c.source_id for c in selection.captures}
    chosen = [s for s in store.sources() if s.id in source_ids]
    main_url = main_date = None
    if len(chosen) == 1:
        source = chosen[0]
        pages = [c for c in selection.captures if c.url == source.url] or \
            [c for c in selection.captures if c.found_by == "seed"]
        if pages:
            main_url = pages[-1].target_uri or pages[-1].url
            main_date = iso_seconds(parse_stored(pages[-1].timestamp))
        title = f"{source.name}: {len(selection.captures)} captures, vigil archive " \
                f"{home.root.name}"
    else:
        title = f"{len(chosen)} sources, {len(selection.captures)} captures, vigil archive " \
                f"{home.root.name}"
    first, last = selection.captures[0].timestamp, selection.captures[-1].timestamp
    description = (f"Captured by vigil from {iso_seconds(parse_stored(first))} to "
                   f"{iso_seconds(parse_stored(last))}. Check it with `vigil verify --wacz "
                   f"FILE --trust FINGERPRINT`, the fingerprint published by the archive.")
    return Metadata(title=title, software=f"{SOFTWARE} (py-wacz {version('wacz')})",
                    created=created, description=description, main_page_url=main_url,
                    main_page_date=main_date)


def _titles(home: Home, store: Store, captures: list[Capture]) -> dict[int, str]:
    """Each article page's title; a revisit's is its original's (same payload)."""
    titles: dict[int, str] = {}
    read: dict[int, str | None] = {}
    for capture in captures:
        holder = store.captures.original(capture) if capture.revisit else capture
        if capture.id is None or holder.id is None or holder.revisit:
            continue
        if capture.found_by not in ARTICLE_PAGES or \
                not 200 <= (capture.payload_status or capture.status) < 300 or \
                "html" not in (holder.content_type or "") or not within_read_limit(holder.size):
            continue
        if holder.id not in read:
            found = extract(read_record(home.warc_dir, holder.warc, holder.offset).payload(),
                            holder.url)
            read[holder.id] = found.title if found is not None and found.title else None
        if read[holder.id]:
            titles[capture.id] = str(read[holder.id])
    return titles


def _extras(home: Home, folder: Path, warc: Path, selection: Selection,
            signed: dict[str, str]) -> list[Extra]:
    """Files under logs/: a manifest of the exported WARC signed with the home's Ed25519
    key (first, for readers that take the first), the public keys and their binding, and
    the home's latest signed manifest, its signature and its timestamp token."""
    sources = sorted({c.warc for c in selection.records})
    manifest = sign_manifest(folder / "proof", home.key_dir, [ManifestEntry(
        name=warc.name, sha256=file_sha256(warc), size=warc.stat().st_size)], {
        "software": SOFTWARE, "export": True,
        "copied_from": [{"name": n, "sha256": signed.get(n)} for n in sources]})
    extras = [Extra(manifest.name, manifest.read_bytes()),
              Extra(manifest.name + SIGNATURE_SUFFIX,
                    manifest.with_name(manifest.name + SIGNATURE_SUFFIX).read_bytes())]
    for name in (PUBLIC_KEY, ECDSA_PUBLIC_KEY, BINDING):
        extras.append(Extra(name, (home.key_dir / name).read_bytes()))
    # The manifests that signed the source files at their hashes (each lists what changed
    # when it was signed), and the latest one.
    signing = signed_files(home.manifest_dir)
    carried = {signing[n].manifest for n in sources if n in signing}
    latest = latest_manifest(home.manifest_dir)
    if latest is not None:
        carried.add(latest)
    for manifest in sorted(carried):
        for suffix in ("", SIGNATURE_SUFFIX, TOKEN_SUFFIX):
            path = manifest.with_name(manifest.name + suffix)
            if path.exists():
                extras.append(Extra(HOME_MANIFEST.removeprefix(LOGS) + path.name,
                                    path.read_bytes()))
    return extras


def _signed_files(home: Home) -> dict[str, str]:
    """Each file's SHA-256 as the home's chain of manifests signs it."""
    return {name: str(signed.entry.get("sha256"))
            for name, signed in signed_files(home.manifest_dir).items()}


@dataclass(frozen=True)
class Timestamped:
    manifest: str
    time: str | None
    problem: str | None = None
    checked: bool = True  # against [evidence] tsa_cert; without one, only read


@dataclass(frozen=True)
class VerifyReport:
    captures: int
    manifests: int
    problems: list[dict[str, Any]]
    fingerprint: str | None = None
    pinned: bool = False
    timestamps: list[Timestamped] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _problem(file: str, text: str) -> dict[str, Any]:
    return {"file": file, "offset": None, "url": None, "problem": text}


def verify_home(home: Home, store: Store, *, trust: str | None = None) -> VerifyReport:
    """Every WARC record against its index row; every signed manifest's signature, order
    and custody anchor, the latest against the files on disk; the key against the pinned
    fingerprint; each manifest's timestamp token; the custody chain. The check itself is
    logged in the chain."""
    problems = [p.__dict__ for p in verify_archive(store.captures, home.warc_dir)]
    keys = HomeKeys.read(home)
    found = manifests(home.manifest_dir)
    if keys.ed25519 is None:
        if found or any(home.warc_dir.glob("*.warc.gz")):
            problems.append(_problem(f"keys/{PUBLIC_KEY}", "the home has no readable public "
                                     "key to check its manifests with"))
    else:
        problems += [_problem(p.file or p.manifest, f"{p.manifest}: {p.problem}")
                     for p in check_manifests(home.manifest_dir, home.warc_dir, store.db,
                                              keys.ed25519)]
    if trust:
        why = trust_problem(trust, keys.ed25519, keys.ecdsa, keys.binding)
        if why:
            problems.append(_problem("keys/", f"the home's keys are {why}"))
    timestamps = _timestamps(home, found)
    problems += [_problem(t.manifest, f"timestamp token: {t.problem}")
                 for t in timestamps if t.problem]
    problems += [_problem("vigil.db", f"custody log entry {p.entry} {p.problem}")
                 for p in check_chain(store.db)]
    captures = store.captures.count()
    append(store.db, VERIFY, {"problems": len(problems), "captures": captures,
                              "manifests": len(found), "trusted": trust})
    return VerifyReport(captures, len(found), problems,
                        fingerprint(keys.ed25519) if keys.ed25519 else None, bool(trust),
                        timestamps)


def _timestamps(home: Home, found: list[Path]) -> list[Timestamped]:
    tokens = [(m, m.with_name(m.name + TOKEN_SUFFIX)) for m in found]
    tokens = [(m, t) for m, t in tokens if t.exists()]
    if not tokens:
        return []
    evidence = Evidence.of(home)
    try:
        roots = load_certificates(evidence.tsa_cert) if evidence.tsa_cert else []
    except TimestampError as exc:
        return [Timestamped(m.name, None, str(exc)) for m, _ in tokens]
    checked = []
    for manifest, token in tokens:
        try:
            if not roots:
                checked.append(Timestamped(manifest.name, iso_seconds(
                    token_time(token.read_bytes())), checked=False))
                continue
            when = verify_timestamp(token.read_bytes(), manifest.read_bytes(), roots)
        except TimestampError as exc:
            checked.append(Timestamped(manifest.name, None, str(exc)))
        else:
            checked.append(Timestamped(manifest.name, iso_seconds(when)))
    return checked


class NotInArchive(LookupError):
    """No closed WARC file of that name."""


def delete_warc(home: Home, store: Store, name: str, reason: str) -> Path:
    """Delete a WARC file as an explicit act: logged in the custody chain with its
    SHA-256 and the reason, its captures taken out of the index, then a new signed
    manifest without it. Returns the manifest."""
    path = home.warc_dir / name
    if "/" in name or not path.exists():
        raise NotInArchive(f"no WARC file {name!r} in {home.warc_dir}")
    digest = file_sha256(path)
    append(store.db, DELETION, {"file": name, "sha256": digest, "reason": reason})
    path.unlink()
    with store.db.conn:
        store.db.execute("DELETE FROM captures WHERE warc = ?", [name])
    return sign_home_manifest(home, store, {"deleted": name})


def verify_wacz(path: Path, trust: str | None, tsa_cert: Path | None) -> PackageReport:
    """A recipient's check of a package alone (no home needed)."""
    roots = load_certificates(tsa_cert) if tsa_cert else []
    return verify_package(path, trust, roots)
