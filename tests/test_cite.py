"""Citation metadata as pages state it, the styles' layouts, and output nothing on a page
can subvert (BibTeX, HTML)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from archive.cite import Citation, parse_published, tex, tex_url
from archive.metadata import read_metadata

CAPTURED = datetime(2026, 12, 1, 19, 30, 5, tzinfo=UTC)


def cite(**fields: object) -> Citation:
    base: dict[str, object] = {
        "url": "https://www.example-news.org/2026/11/20/story/", "title": "Flood inquiry",
        "site": "Example News", "captured": CAPTURED,
        "archived_url": "http://127.0.0.1:8080/web/20261201193005/"
                        "https://www.example-news.org/2026/11/20/story/",
        "sha256": "ab" * 32}
    base.update(fields)
    return Citation(**base)  # type: ignore[arg-type]


def test_json_ld_gives_authors_date_and_publisher_inside_a_graph() -> None:
    page = b"""<html><head><script type="application/ld+json">{"@graph": [
      {"@type": "WebSite", "name": "The Site"},
      {"@type": ["NewsArticle"], "headline": "Headline from JSON-LD",
       "datePublished": "2026-11-20T08:15:00+01:00",
       "author": [{"@type": "Person", "name": "Ada Brook"}, "Carl Doe"],
       "publisher": {"@type": "NewsMediaOrganization", "name": "Riverside Herald"}}]}
    </script><title>Title tag</title></head><body></body></html>"""
    meta = read_metadata(page)
    assert meta.title == "Headline from JSON-LD"
    assert meta.authors == ("Ada Brook", "Carl Doe")
    assert parse_published(meta.published) == date(2026, 11, 20)
    assert meta.site == "Riverside Herald"


def test_highwire_citation_meta_comes_before_opengraph_and_dublin_core() -> None:
    page = b"""<html><head>
      <meta name="citation_title" content="The cited title">
      <meta name="citation_author" content="Brook, Ada">
      <meta name="citation_author" content="Doe, Carl">
      <meta name="citation_publication_date" content="2026/11/19">
      <meta property="og:title" content="OG title"><meta property="og:site_name" content="OG Site">
      <meta name="DC.creator" content="Someone Else"><meta name="DC.date" content="2020-01-01">
    </head><body><h1>Heading</h1></body></html>"""
    meta = read_metadata(page)
    assert (meta.title, meta.authors) == ("The cited title", ("Brook, Ada", "Doe, Carl"))
    assert parse_published(meta.published) == date(2026, 11, 19)
    assert meta.site == "OG Site"


def test_article_meta_dublin_core_and_bylines_fill_in_when_nothing_else_says() -> None:
    og = read_metadata(b"""<meta property="article:author" content="https://fb.com/ada">
      <meta property="article:published_time" content="2026-11-18T10:00:00Z">
      <meta name="author" content="Ada Brook"><h1>A story</h1>""")
    assert og.authors == ("Ada Brook",) and og.published == "2026-11-18T10:00:00Z"
    dc = read_metadata(b"""<meta name="DC.creator" content="Carl Doe">
      <meta name="DC.date" content="2026-11-17"><meta name="DC.publisher" content="Herald">""")
    assert (dc.authors, dc.published, dc.site) == (("Carl Doe",), "2026-11-17", "Herald")
    byline = read_metadata(b"""<article><h1>T</h1><p class="byline">By Ada Brook and Carl
      Doe</p><time datetime="2026-11-16">16 Nov</time><p>Text.</p></article>""")
    assert byline.authors == ("Ada Brook", "Carl Doe")
    assert byline.published == "2026-11-16"
    assert read_metadata(b"").authors == ()


def test_apa_mla_and_chicago_lay_out_a_news_article_with_and_without_authors() -> None:
    full = cite(authors=("Ada Brook", "Carl Doe", "Tomás van der Berg"),
                published=date(2026, 11, 20))
    assert full.render("apa").startswith(
        "Brook, A., Doe, C., & van der Berg, T. (2026, November 20). Flood inquiry. "
        "Example News. Retrieved December 1, 2026, from https://www.example-news.org/")
    assert full.render("mla").startswith(
        "Brook, Ada, et al. “Flood inquiry.” Example News, 20 Nov. 2026, "
        "www.example-news.org/2026/11/20/story/. Accessed 1 Dec. 2026.")
    assert full.render("chicago").startswith(
        "Brook, Ada, Carl Doe, and Tomás van der Berg. “Flood inquiry.” Example News, "
        "November 20, 2026. https://www.example-news.org/")
    bare = cite()
    assert bare.render("apa").startswith("Flood inquiry. (n.d.). Example News. Retrieved")
    assert bare.render("mla").startswith("“Flood inquiry.” Example News, www.example")
    assert "Accessed December 1, 2026." in bare.render("chicago")
    for style in ("apa", "mla", "chicago", "bibtex"):
        assert "ab" * 32 in full.render(style)
        assert full.archived_url in full.render(style)


@pytest.mark.parametrize("hostile", [
    r"\immediate\write18{rm -rf ~}", "}, note = {injected", r"\input{/etc/passwd}",
    "$\\alpha$ & 100% #1 _x_ ^caret~", "line\nbreak\x1b[31m"])
def test_bibtex_escapes_everything_from_the_page(hostile: str) -> None:
    entry = cite(title=hostile, site=hostile, authors=(hostile, "Ada Brook"),
                 url="https://example.org/a}b\\c{d").render("bibtex")
    body = entry.split("\n", 1)[1].rsplit("\n", 1)[0]
    fields = re.findall(r"^  (\w+) = \{(.*)\},?$", body, re.MULTILINE)
    assert [name for name, _ in fields] == ["author", "title", "organization", "url",
                                            "urldate", "note"], entry
    for name, value in fields:
        # No command or brace from the page survives: every \ { } is escaped or balanced.
        assert not re.search(r"\\(immediate|write18|input)", value), (name, value)
        depth = 0
        for n, char in enumerate(value):
            if char in "{}" and (n == 0 or value[n - 1] != "\\"):
                depth += 1 if char == "{" else -1
                assert depth >= 0, (name, value)
        assert depth == 0, (name, value)
    assert "\x1b" not in entry and "[31m" not in entry and "\nbreak" not in entry


def test_tex_escapes_and_urls_percent_encode_what_would_close_a_field() -> None:
    assert tex(r"\write18{x}") == r"\textbackslash{}write18\{x\}"
    assert tex("50% & #1") == r"50\% \& \#1"
    assert tex_url("https://e.org/a}{\\ b") == "https://e.org/a%7D%7B%5C%20b"


def test_robust_links_escape_the_title_as_html() -> None:
    link = cite(title="<script>alert(1)</script>").render("robust-link")
    assert "<script>" not in link and "&lt;script&gt;" in link


def test_bylines_give_linked_names_and_stop_at_dates_and_other_roles() -> None:
    linked = read_metadata(b"""<div class="byline">By <a href="/a/ada">Ada Brook</a> and
      <a href="/a/carl">Carl Doe</a> | 22 Dec 2016</div>""")
    assert linked.authors == ("Ada Brook", "Carl Doe")
    written = read_metadata(b"<p class='byline'>Written by Rob Ewaschuk Edited by Betsy</p>")
    assert written.authors == ("Rob Ewaschuk",)
    dated = read_metadata(b"<span class='byline'>By Lucas Nolan22 Dec 2016</span>")
    assert dated.authors == ("Lucas Nolan",)
    assert read_metadata(b"<meta name='author' content='Brook, Ada'>").authors == \
        ("Brook, Ada",)


def test_pages_are_decoded_by_their_charset_and_http_dates_are_read() -> None:
    latin = "<meta charset='iso-8859-1'><meta property='og:site_name' content='Libération'>"
    assert read_metadata(latin.encode("latin-1")).site == "Libération"
    assert parse_published("Sat, 19 Oct 2019 00:04:00 +0200") == date(2019, 10, 19)
    assert parse_published("2022-1-26T14:32:06+02:00") == date(2022, 1, 26)
    assert parse_published("next week") is None


def test_text_from_a_page_prints_no_terminal_sequences() -> None:
    from archive.printable import printable

    hostile = "Title\x1b[2J\x1b]0;owned\x07\u202egnp.exe\x00 end"
    for style in ("apa", "mla", "chicago", "bibtex", "robust-link"):
        text = cite(title=hostile, authors=(hostile,), site=hostile).render(style)
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]", text), style
        assert "owned" not in text and "[2J" not in text, style
    assert printable("a\x1b[31mb\x1b[0m\tc\nd", newlines=False) == "ab\tc d"
