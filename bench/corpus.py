"""The real-pages corpus: build it from public test sets (once), and load it (every run).

Built from two public corpora with ground truth, each a git directory brought in by the
``fetch`` tool: Mozilla Readability's ``test/test-pages`` (each page's source and the
article Readability's authors expect, Apache-2.0) and trafilatura's evaluation set
(``tests/eval`` and ``tests/evaldata.json``: segments the article must and must not hold,
Apache-2.0). Only data is kept: the pages (inline script and style bodies emptied, for
size) and their ground truth, in ``tests/corpus/pages.tar.xz``.

    python -m bench.corpus BUILD READABILITY_GIT_DIR TRAFILATURA_GIT_DIR
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from lxml import etree
from w3lib.encoding import html_to_unicode

from monitor.extract import _utf8_or_cp1252

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus" / "pages.tar.xz"
MANIFEST = "manifest.json"

# Pages of a test set that are about one markup feature rather than a site (smaller than
# this, or with a story shorter than this, they are left out).
MIN_SOURCE_BYTES, MIN_STORY_WORDS = 8_000, 120
TRAFILATURA_PAGES = 90
_ARTICLE_PATH = re.compile(r"/20\d\d/|\d{5,}|[a-z0-9]+-[a-z0-9]+-[a-z0-9]+", re.IGNORECASE)
_SCRIPT = re.compile(rb"(<script\b[^>]*>)(.*?)(</script\s*>)", re.IGNORECASE | re.DOTALL)
_STYLE = re.compile(rb"(<style\b[^>]*>)(.*?)(</style\s*>)", re.IGNORECASE | re.DOTALL)
_DATA_URI = re.compile(rb"data:[a-z/+.-]+;base64,[A-Za-z0-9+/=]{200,}", re.IGNORECASE)


@dataclass(frozen=True)
class Page:
    """One real page and what its article is, according to the test set it comes from."""

    name: str
    origin: str  # which test set
    url: str
    site: str
    html: bytes
    title: str  # the headline, as the test set states it ("" when it states none)
    paragraphs: tuple[str, ...]  # the story's paragraphs, or segments of it


def _git(git_dir: str, *args: str) -> bytes:
    return subprocess.run(["git", "--git-dir", git_dir, *args], check=True,
                          capture_output=True).stdout


def _slim(html: bytes) -> bytes:
    """The page with inline script and style bodies emptied and big data: URIs cut short:
    the markup is as it was, and most of the bytes go."""
    html = _SCRIPT.sub(lambda m: m.group(1) + m.group(3), html)
    html = _STYLE.sub(lambda m: m.group(1) + m.group(3), html)
    return _DATA_URI.sub(b"data:image/gif;base64,R0lGODlhAQABAAAAACw=", html)


def _text(el: etree._Element) -> str:
    return " ".join("".join(el.itertext()).split())


def _tree(html: bytes) -> etree._Element | None:
    """The page parsed as vigil decodes it (its declared charset, else UTF-8 or cp1252)."""
    _encoding, text = html_to_unicode("", html, auto_detect_fun=_utf8_or_cp1252)
    try:
        return etree.fromstring(text, etree.HTMLParser())
    except ValueError:
        return etree.fromstring(html, etree.HTMLParser())


def _readability(git_dir: str) -> list[dict[str, object]]:
    listing = _git(git_dir, "ls-tree", "--name-only", "HEAD", "test/test-pages/").decode()
    pages = []
    for folder in listing.split():
        name = folder.rsplit("/", 1)[1]
        source = _git(git_dir, "show", f"HEAD:{folder}/source.html")
        expected = _git(git_dir, "show", f"HEAD:{folder}/expected.html")
        meta = json.loads(_git(git_dir, "show", f"HEAD:{folder}/expected-metadata.json"))
        tree = etree.fromstring(expected, etree.HTMLParser(encoding="utf-8"))
        paragraphs = [t for t in (_text(p) for p in tree.iter("p")) if len(t.split()) >= 5]
        if len(source) < MIN_SOURCE_BYTES or sum(len(p.split()) for p in paragraphs) < \
                MIN_STORY_WORDS:
            continue
        site = re.sub(r"-\d+$", "", name)
        pages.append({"name": f"readability/{name}", "origin": "readability",
                      "url": f"http://{site}.test/{name}/", "site": site,
                      "title": meta.get("title") or "",
                      "paragraphs": paragraphs, "file": _slim(source)})
    return pages


def _trafilatura(git_dir: str, taken: set[str]) -> list[dict[str, object]]:
    data = json.loads(_git(git_dir, "show", "HEAD:tests/evaldata.json"))
    files = set(_git(git_dir, "ls-tree", "--name-only", "HEAD", "tests/eval/").decode().split())
    pages: list[dict[str, object]] = []
    for url in sorted(data, key=lambda u: data[u]["file"]):
        entry = data[url]
        host = (urlsplit(url).hostname or "").removeprefix("www.")
        path = f"tests/eval/{entry['file']}"
        if path not in files or host in taken or len(entry["with"]) < 2 or \
                not _ARTICLE_PATH.search(urlsplit(url).path):
            continue
        source = _git(git_dir, "show", f"HEAD:{path}")
        tree = _tree(source)
        if tree is None:
            continue
        texts = [_text(p) for p in tree.iter("p")]
        # The segments the test set says the article holds, as whole paragraphs of the page
        # (a variant edits a paragraph of the story, so it must know which one is).
        held = [t for t in texts if len(t.split()) >= 5 and
                any(" ".join(w.split()) in t for w in entry["with"])]
        if len(held) < 2:
            continue
        taken.add(host)
        pages.append({"name": f"trafilatura/{entry['file'].removesuffix('.html')}",
                      "origin": "trafilatura", "url": url, "site": host,
                      "title": entry.get("title") or "", "paragraphs": held,
                      "without": entry.get("without", []), "file": _slim(source)})
        if len(pages) == TRAFILATURA_PAGES:
            break
    return pages


def build(readability_git: str, trafilatura_git: str) -> None:
    pages = _readability(readability_git)
    pages += _trafilatura(trafilatura_git, {str(p["site"]) for p in pages})
    manifest = []
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:xz", preset=9) as tar:
        for page in pages:
            body = page.pop("file")
            assert isinstance(body, bytes)
            page["path"] = f"{page['name']}.html"
            info = tarfile.TarInfo(str(page["path"]))
            info.size, info.mtime = len(body), 0
            tar.addfile(info, io.BytesIO(body))
            manifest.append(page)
        raw = json.dumps(manifest, ensure_ascii=False, indent=0).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mtime = len(raw), 0
        tar.addfile(info, io.BytesIO(raw))
    CORPUS.parent.mkdir(parents=True, exist_ok=True)
    CORPUS.write_bytes(buffer.getvalue())
    sites = {p["site"] for p in manifest}
    print(f"{len(manifest)} pages from {len(sites)} sites, {len(buffer.getvalue())} bytes")


@cache
def load() -> tuple[Page, ...]:
    """Every page of the corpus, in a stable order."""
    with tarfile.open(CORPUS, mode="r:xz") as tar:
        members = {m.name: tar.extractfile(m) for m in tar.getmembers() if m.isfile()}
        files = {name: f.read() for name, f in members.items() if f is not None}
    manifest = json.loads(files[MANIFEST])
    return tuple(Page(name=e["name"], origin=e["origin"], url=e["url"], site=e["site"],
                      html=files[e["path"]], title=e["title"],
                      paragraphs=tuple(e["paragraphs"])) for e in manifest)


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "BUILD":
        sys.exit(__doc__)
    build(sys.argv[2], sys.argv[3])
