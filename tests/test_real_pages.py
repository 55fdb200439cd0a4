"""Real pages from public test sets (tests/corpus): the monitor sees their edits and
removals and stays quiet on their noise; link scope and extraction read one element."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from w3lib.encoding import html_to_unicode

from monitor.extract import _parse, _utf8_or_cp1252, extract
from monitor.reader import read_story
from spiders.links import content_scope, parse_page

# The corpus and its variants live with the benchmarks, which are not an installed package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.corpus import Page, load
from bench.realpages import score, table
from bench.variants import EDITS, NOISE, REMOVALS

# A fast subset for `make test` (every sixth page, about thirty sites); `make bench` and
# `python -m bench.realpages` score them all.
EVERY = 6


@pytest.fixture(scope="module")
def pages() -> tuple[Page, ...]:
    return load()[::EVERY]


def test_the_corpus_holds_a_hundred_real_pages_from_sixty_sites() -> None:
    corpus = load()
    assert len(corpus) >= 100 and len({p.site for p in corpus}) >= 60
    assert all(p.paragraphs for p in corpus)


def test_link_scope_and_extraction_read_the_story_from_the_same_element(
        pages: tuple[Page, ...]) -> None:
    for page in pages:
        _encoding, text = html_to_unicode("", page.html, auto_detect_fun=_utf8_or_cp1252)
        links_root, extract_root = parse_page(text), _parse(page.html)
        assert links_root is not None and extract_root is not None
        story = read_story(extract_root)
        read = story.container if story.container is not None else \
            extract_root.find(".//body")
        assert read is not None
        assert links_root.getroottree().getpath(content_scope(links_root)) == \
            extract_root.getroottree().getpath(read), page.name


def test_every_real_page_gives_an_extract_with_words(pages: tuple[Page, ...]) -> None:
    found = [extract(page.html, page.url) for page in pages]
    assert all(f is not None and f.words for f in found)


def test_noise_edits_and_removals_of_real_pages_meet_the_bar(
        pages: tuple[Page, ...]) -> None:
    figures = table(score(pages, {"vigil": extract}), pages)["readers"]["vigil"]

    def misses(hits_total: tuple[int, int]) -> int:
        return hits_total[1] - hits_total[0]

    # The bar (≤ 1% false positives, ≥ 98% recall per kind), with one miss allowed per
    # kind on a subset this small (one is 3%).
    noise_events, noise_total = figures["noise_false_positives"]
    assert noise_events <= max(1, noise_total // 100), figures["noise_by_kind"]
    for kind in EDITS:
        assert misses(figures["edit_recall"][kind.value]) <= 1, (kind, figures["edit_recall"])
    for kind in REMOVALS:
        assert misses(figures["removal_recall"][kind.value]) <= 1, kind
    quoted, raised = figures["edits_quoting_the_change"]
    assert raised - quoted <= 1
    assert {k.value for k in NOISE} == set(figures["noise_by_kind"])
