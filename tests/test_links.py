"""Which links of a page are content, related reading, citations or requisites."""

from __future__ import annotations

import itertools
from urllib.parse import urljoin, urlsplit, urlunsplit

from archive.urls import is_listing_page, is_share_link, site_key
from spiders.links import clean_url, css_urls, parse_html

BASE = "https://news.example/2026/01/02/story/"

PAGE = """<html><head><link rel="stylesheet" href="/s.css"><link rel="icon" href="/i.ico">
<script src="https://cdn.example/app.js"></script><style>h1{background:url('/h.png')}</style>
</head><body>
<header><nav><a href="/news/">News</a><a href="/2025/01/01/menu-story/">Menu story</a></nav>
</header>
<main><article><h1>Story</h1>
<p>According to <a href="https://gov.example/report.pdf">the report</a> and
<a href="/2026/01/01/earlier/">our earlier story</a>.</p>
<img src="/a.jpg" srcset="/a-2x.jpg 2x, /a-3x.jpg 3x"><div style="background:url(/bg.png)"></div>
<div class="share-buttons"><a href="https://social.example/share?u=x">Share</a></div>
<h2>Related articles</h2>
<ul><li><a href="/2026/01/03/follow-up/">Follow-up</a></li></ul>
<h2>What happened next</h2><p>More text <a href="#top">top</a>.</p>
</article></main>
<aside class="sidebar"><h3>Most read</h3><a href="/2024/05/05/popular/">Popular</a></aside>
<footer><a href="/about/">About</a></footer></body></html>"""


def test_main_content_links_exclude_navigation_sidebar_footer_and_share_bars() -> None:
    links = parse_html(PAGE, BASE)
    assert links.content == ["https://gov.example/report.pdf",
                             "https://news.example/2026/01/01/earlier/"]


def test_a_related_articles_heading_introduces_a_related_block() -> None:
    assert parse_html(PAGE, BASE).related == ["https://news.example/2026/01/03/follow-up/"]


def test_related_blocks_are_found_by_class_too() -> None:
    html = ('<html><body><article><p>Text</p></article><aside class="keep-reading">'
            '<a href="/x/">X</a></aside></body></html>')
    assert parse_html(html, BASE).related == ["https://news.example/x/"]


def test_requisites_include_srcset_css_urls_icons_and_scripts_on_any_host() -> None:
    requisites = set(parse_html(PAGE, BASE).requisites)
    assert {"https://news.example/s.css", "https://news.example/i.ico",
            "https://cdn.example/app.js", "https://news.example/h.png",
            "https://news.example/a.jpg", "https://news.example/a-2x.jpg",
            "https://news.example/a-3x.jpg", "https://news.example/bg.png"} <= requisites


def test_stylesheets_bring_fonts_images_and_imports() -> None:
    css = ('@import "print.css"; @font-face{src:url(../fonts/f.woff2) format("woff2")}'
           ' .x{background:url("data:image/png;base64,AAAA")}')
    assert css_urls(css, "https://news.example/static/css/site.css") == [
        "https://news.example/static/css/print.css",
        "https://news.example/static/fonts/f.woff2"]


def test_malformed_or_empty_html_yields_no_links_and_no_crash() -> None:
    assert parse_html("", BASE).content == []
    assert parse_html(b"\x00\xff<<<a href=", BASE).requisites == []


def test_listing_pages_share_links_and_sites() -> None:
    assert is_listing_page("https://news.example/tag/flooding/")
    assert is_listing_page("https://news.example/author/jane/")
    assert is_listing_page("https://news.example/")
    assert not is_listing_page("https://news.example/2026/01/02/story/")
    assert is_share_link("https://www.facebook.com/sharer/sharer.php?u=x")
    assert is_share_link("https://twitter.com/intent/tweet?url=x")
    assert not is_share_link("https://gov.example/report.pdf")
    assert site_key("https://www.news.example/a") == site_key("http://news.example:80/b")
    assert site_key("http://127.0.0.2:8000/") != site_key("http://127.0.0.3:8000/")


def test_srcset_urls_may_contain_commas() -> None:
    html = ('<img srcset="/cdn/w_400,c_fill/a.jpg 400w, /cdn/w_800,c_fill/a.jpg 800w,'
            '/plain.jpg">')
    assert parse_html(html, BASE).requisites == [
        "https://news.example/cdn/w_400,c_fill/a.jpg",
        "https://news.example/cdn/w_800,c_fill/a.jpg", "https://news.example/plain.jpg"]


def test_css_image_set_names_its_images() -> None:
    css = '.logo{background-image:image-set("logo.png" 1x, url(logo@2x.png) 2x)}'
    assert css_urls(css, "https://news.example/s/site.css") == [
        "https://news.example/s/logo.png", "https://news.example/s/logo@2x.png"]


def test_a_read_more_block_without_a_heading_is_related() -> None:
    html = ('<html><body><div id="story-body"><p>Words of the story.</p></div>'
            '<div class="read-more-links"><a href="/2026/05/05/next/">Next</a></div></body>'
            '</html>')
    assert parse_html(html, BASE).related == ["https://news.example/2026/05/05/next/"]


def test_a_related_list_inside_the_story_does_not_swallow_the_paragraphs_after_it() -> None:
    html = ('<html><body><div id="story-body"><p>First paragraph of the story.</p>'
            '<h2>Related Stories</h2><ul><li><a href="/2026/01/01/older/">Older</a></li></ul>'
            '<p>The story goes on and cites <a href="https://gov.example/doc.pdf">a '
            'document</a>.</p></div></body></html>')
    links = parse_html(html, BASE)
    assert links.related == ["https://news.example/2026/01/01/older/"]
    assert "https://gov.example/doc.pdf" in links.content


def test_an_article_beside_a_most_read_rail_is_the_main_content() -> None:
    story = " ".join(["Sentence of the article with words."] * 30)
    rail = "".join(f'<li><a href="/sport/2026/0{i}/01/item-{i}/">Headline number {i} '
                   f"with several words in it</a></li>" for i in range(1, 9))
    html = (f'<html><body><main><div class="layout"><article><p>{story}</p>'
            f'<p><a href="/2026/02/02/linked-story/">linked</a></p></article>'
            f'<div class="col"><h3>Most read</h3><ol>{rail}</ol></div></div></main>'
            "</body></html>")
    assert parse_html(html, BASE).content == ["https://news.example/2026/02/02/linked-story/"]


def test_a_heading_alone_marks_a_most_read_box_as_furniture() -> None:
    html = ('<html><body><div class="article__content"><p>Story text here.</p>'
            '<a href="/2026/03/03/in-story/">in story</a></div><div><h4>Most popular</h4>'
            '<a href="/2020/01/01/popular/">popular</a></div></body></html>')
    assert parse_html(html, BASE).content == ["https://news.example/2026/03/03/in-story/"]


def test_section_fronts_and_kickers_are_listing_pages_but_slugs_are_not() -> None:
    assert is_listing_page("https://news.example/news/world/")
    assert is_listing_page("https://news.example/sport/")
    assert not is_listing_page("https://news.example/rape-forced-prostitution-of-women/")
    assert not is_listing_page("https://news.example/news/levee-failure/")
    assert not is_listing_page("https://news.example/second")  # a one-word article name
    html = ('<html><body><article><div class="article__kicker"><a href="/news/world/">World'
            '</a></div><p>Text</p></article></body></html>')
    assert parse_html(html, BASE).content == []


def test_a_link_carrying_the_page_url_is_a_share_button() -> None:
    assert is_share_link("https://bsky.app/intent/compose?text=hello")
    assert is_share_link("https://social.example/post?u=https%3A%2F%2Fnews.example%2F2026"
                         "%2F01%2F02%2Fstory%2F", page=BASE)
    assert not is_share_link("https://gov.example/report?id=7", page=BASE)


def _by_urljoin(base: str, href: str) -> str | None:
    try:
        parts = urlsplit(urljoin(base, href.strip()))
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


def test_plain_absolute_paths_resolve_exactly_as_urljoin_resolves_them() -> None:
    bases = ["http://a.example/x/y.html?q=1#f", "https://b.example:8443/", "http://d.example",
             "http://u:p@c.example/d/", "http://[::1]:80/a", "http://[bad/", "ftp://x/y",
             "file:///tmp/x"]
    hrefs = ["/", "/a", "/a/b.html", "/a?", "/a?#", "/a??", "/a?b?", "/a?#?", "/a?b", "/a#",
             "/a#b", "/a?b#c", "/?", "/#", "/./a", "/a/./b", "/a/../b", "/a/..", "/a/.", "/..",
             "/.", "/.well-known/x", "/a/.b", "/a/...", "/a?/../b", "/a#/../b", "/a/.?x",
             "/a/..#x", "/%2e%2e/x", "/a\tb", "/a\nb", "/a b", "/ä/ö", "/a;p?q", "/a//b",
             "//other.example/x", "/a\\b"]
    for base, href in itertools.product(bases, hrefs):
        for spaced in (href, f" {href}\n"):
            assert clean_url(base, spaced) == _by_urljoin(base, spaced), (base, spaced)


def test_utf8_bytes_parse_to_the_same_links_as_their_decoded_text() -> None:
    # No charset declared: the bytes are parsed as UTF-8 because the crawl knows they are.
    html = ("<html><body><article><p>“Quoted” — café, naïve, 東京.</p>"
            "<a href='/2026/01/02/café-story/'>On the café</a>"
            "<a href='https://elsewhere.example/東京'>Tokyo</a>"
            "<img srcset='/img/ä.jpg 1x, /img/ä@2.jpg 2x'></article>"
            "<aside class='related'><h2>Related</h2><a href='/2026/01/03/naïve/'>x</a>"
            "</aside></body></html>")
    for page in (html, PAGE):
        assert parse_html(page.encode("utf-8"), BASE, utf8=True) == parse_html(page, BASE)
    assert "https://news.example/2026/01/02/café-story/" in parse_html(
        html.encode("utf-8"), BASE, utf8=True).content


def test_link_scope_is_the_element_extraction_reads_even_when_named_like_furniture() -> None:
    from monitor.extract import _parse
    from monitor.reader import read_story
    from spiders.links import content_scope, parse_page

    story = "".join(f"<p>Paragraph {n} of the story, citing <a href='https://gov.example/"
                    f"doc-{n}.pdf'>document {n}</a> and what the council said about it."
                    f"</p>" for n in range(6))
    html = (f"<html><body><nav><a href='/news/'>News</a></nav><main><h1>Story</h1>"
            f"<div class='field field--label-hidden'>{story}</div></main><aside "
            "class='sidebar'><a href='/2026/01/01/other/'>Other</a></aside></body></html>")
    links = parse_html(html, BASE)
    assert links.content == [f"https://gov.example/doc-{n}.pdf" for n in range(6)]
    scope, root = content_scope(parse_page(html)), _parse(html.encode())
    assert root is not None and read_story(root).container is not None
    assert scope.getroottree().getpath(scope) == \
        root.getroottree().getpath(read_story(root).container)


def test_stylesheet_urls_are_read_in_every_form_and_unclosed_ones_are_not_urls() -> None:
    css = ("a{background:url(/a.png)} b{background:url( \"/b.png\" )} @import \"/c.css\";"
           " c{src:url('/e.woff') format(\"woff\")} d{background:url()} e{x:url(/f.png")
    assert css_urls(css, "http://127.0.0.2/s/main.css") == [
        "http://127.0.0.2/a.png", "http://127.0.0.2/b.png", "http://127.0.0.2/c.css",
        "http://127.0.0.2/e.woff"]
    # A run of unclosed url( names nothing (and is read in one pass, see make bench).
    assert css_urls("url(" * 50_000, "http://127.0.0.2/") == []
