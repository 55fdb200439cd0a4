"""The CDXJ replay tools read, made so that a server-not-modified revisit replays content.

A 304 revisit record keeps the HTTP headers the server sent, ``304 Not Modified`` and no
body, as WARC says it should. Replay tools answer a memento with the status of the
record (pywb) or of its index line (ReplayWeb.page), so a 304 replays as an empty page.
The records stay as they are:

- pywb reads ``replay_lines`` (made from the capture index, so captures in files still
  open are there) and is taught by ``crawler/web/pywb_child.py`` to answer a 304 line
  with the original's headers and payload, at the revisit's own time;
- in a WACZ (``resolve_not_modified``), the line stays a ``warc/revisit`` line but carries
  the status of the record it revisits, so ReplayWeb.page fetches the original's payload.

Identical-payload revisits (200 headers, no body) need neither: both tools resolve them
by WARC-Refers-To-Target-URI, WARC-Refers-To-Date and the payload digest.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from archive.cdxj import cdxj_line
from archive.index import Capture, CaptureIndex

NOT_MODIFIED = 304
REVISIT_MIME = "warc/revisit"


def _line(capture: Capture, holder: Capture) -> str:
    return cdxj_line(
        target_uri=capture.target_uri or capture.url, warc_date=capture.timestamp,
        revisit=holder.revisit, content_type=holder.content_type, status=holder.status,
        payload_digest=holder.payload_digest, offset=holder.offset, length=holder.length,
        filename=holder.warc)


def replay_lines(index: CaptureIndex) -> Iterator[str]:
    """One CDXJ line per capture in the capture index (unsorted), as cdxj-indexer writes
    it: pywb reads these, captures in WARC files not yet closed included."""
    for capture in index.all():
        yield _line(capture, capture)


def resolve_not_modified(lines: Iterable[str]) -> Iterator[str]:
    """CDXJ lines (as cdxj-indexer writes them) with each 304 revisit's status replaced
    by the status of the non-revisit line of the same payload digest (the record it
    revisits); a revisit whose original is not among the lines is left as it is."""
    kept = list(lines)
    statuses: dict[str, str] = {}
    for line in kept:
        fields = _fields(line)
        if fields is not None and fields.get("mime") != REVISIT_MIME and "digest" in fields:
            statuses.setdefault(fields["digest"], fields.get("status", "200"))
    for line in kept:
        fields = _fields(line)
        if fields is None or fields.get("mime") != REVISIT_MIME or \
                fields.get("status") != str(NOT_MODIFIED) or \
                fields.get("digest") not in statuses:
            yield line
            continue
        fields["status"] = statuses[fields["digest"]]
        key, stamp, _ = line.split(" ", 2)
        yield f"{key} {stamp} {json.dumps(fields)}\n"


def _fields(line: str) -> dict[str, str] | None:
    parts = line.split(" ", 2)
    if len(parts) < 3:
        return None
    try:
        found = json.loads(parts[2])
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


# -- WACZ ----------------------------------------------------------------------------
WACZ_INDEX = "indexes/index.cdxj"
_PACKAGE, _DIGEST = "datapackage.json", "datapackage-digest.json"


def _wacz_lines(package: zipfile.ZipFile) -> list[str] | None:
    """The CDXJ lines of a WACZ's index, a ZipNum ``.cdx.gz`` (gzip members) or plain."""
    names = package.namelist()
    if "indexes/index.cdx.gz" in names:
        data = gzip.decompress(package.read("indexes/index.cdx.gz"))
    elif WACZ_INDEX in names:
        data = package.read(WACZ_INDEX)
    else:
        return None
    return [line + "\n" for line in data.decode("utf-8").splitlines() if line.strip()]


def resolve_wacz(path: Path) -> bool:
    """Rewrite a WACZ so its 304 revisits replay (``resolve_not_modified``): its index is
    replaced by one plain ``indexes/index.cdxj`` (ZipNum blocks would need recutting), and
    ``datapackage.json`` and its digest are made to match. Every other file is copied as
    it is. False (the file untouched) when it has no 304 revisit to resolve."""
    with zipfile.ZipFile(path) as package:
        lines = _wacz_lines(package)
        if lines is None:
            return False
        resolved = list(resolve_not_modified(lines))
        if resolved == lines:
            return False
        index = "".join(sorted(resolved)).encode("utf-8")
        datapackage = json.loads(package.read(_PACKAGE))
        kept = [r for r in datapackage.get("resources", [])
                if not r.get("path", "").startswith("indexes/")]
        kept.insert(0, {"name": "index.cdxj", "path": WACZ_INDEX,
                        "hash": "sha256:" + hashlib.sha256(index).hexdigest(),
                        "bytes": len(index)})
        datapackage["resources"] = kept
        package_bytes = json.dumps(datapackage, indent=2).encode("utf-8")
        digest = json.loads(package.read(_DIGEST)) if _DIGEST in package.namelist() else {}
        digest.update(path=_PACKAGE, hash="sha256:" + hashlib.sha256(package_bytes).hexdigest())
        digest.pop("signedData", None)  # a signature over the old datapackage no longer holds
        tmp = path.with_name(path.name + ".tmp")
        with zipfile.ZipFile(tmp, "w") as out:
            for info in package.infolist():
                if info.filename.startswith("indexes/") or info.filename in (_PACKAGE,
                                                                             _DIGEST):
                    continue
                out.writestr(info, package.read(info.filename))
            out.writestr(zipfile.ZipInfo(WACZ_INDEX, info.date_time), index,
                         zipfile.ZIP_DEFLATED)
            out.writestr(zipfile.ZipInfo(_PACKAGE, info.date_time), package_bytes)
            out.writestr(zipfile.ZipInfo(_DIGEST, info.date_time),
                         json.dumps(digest, indent=2).encode("utf-8"))
    os.replace(tmp, path)
    return True
