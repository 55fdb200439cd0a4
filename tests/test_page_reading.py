"""A page whose links the crawl could follow are all requested already is not judged."""

from __future__ import annotations

from scrapy.http import HtmlResponse

from spiders.page import Page, nothing_to_follow, read

URL = "https://news.example/2026/01/02/story/"
SITES = ["news.example"]
ARTICLES = ["https://news.example/2026/01/01/earlier/",
            "https://news.example/2026/01/03/follow-up/"]
CITED = "https://gov.example/report.pdf"
HTML = f"""<html><body><header><nav><a href="/news/">News</a></nav></header>
<main><article><h1>Story</h1><p>According to <a href="{CITED}">the report</a> and
<a href="/2026/01/01/earlier/">our earlier story</a>.</p>
<a href="https://social.example/share?u={URL}">Share</a><a href="#top">Top</a>
<a href="{URL}">This story</a></article>
<aside class="related"><h2>Related</h2><a href="/2026/01/03/follow-up/">Follow-up</a>
</aside></main></body></html>"""


def _page(html: str = HTML) -> Page:
    page = read(HtmlResponse(URL, body=html.encode(), encoding="utf-8"))
    assert page is not None
    return page


def test_a_page_linking_an_article_not_yet_requested_is_judged() -> None:
    assert not nothing_to_follow(_page(), URL, SITES, {CITED, ARTICLES[0]}, cap=0)


def test_a_page_citing_another_site_not_yet_requested_is_judged() -> None:
    assert not nothing_to_follow(_page(), URL, SITES, set(ARTICLES), cap=0)


def test_listings_share_buttons_and_the_page_itself_are_never_followed_so_need_no_judging(
) -> None:
    # The section front, the share button and the story's own URL are not requested, and
    # could not be whatever their place on the page.
    assert nothing_to_follow(_page(), URL, SITES, {CITED, *ARTICLES}, cap=0)


def test_a_page_with_more_links_than_the_cap_is_judged_so_its_refusal_is_recorded() -> None:
    everything = {CITED, *ARTICLES}
    assert nothing_to_follow(_page(), URL, SITES, everything, cap=7)
    assert not nothing_to_follow(_page(), URL, SITES, everything, cap=5)


def test_links_are_resolved_against_the_page_s_base_as_judging_resolves_them() -> None:
    html = HTML.replace("<html><body>", '<html><head><base href="https://news.example/'
                        'world/"></head><body>')
    page = _page(html.replace('href="/2026/01/03/follow-up/"', 'href="2026/01/03/later/"'))
    later = "https://news.example/world/2026/01/03/later/"
    assert page.base == "https://news.example/world/"
    assert nothing_to_follow(page, URL, SITES, {CITED, ARTICLES[0], later}, cap=0)
    assert not nothing_to_follow(page, URL, SITES, {CITED, *ARTICLES}, cap=0)
