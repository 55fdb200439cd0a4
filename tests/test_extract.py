"""Extraction, comparison and classification on their own: noise out, news kept."""

from __future__ import annotations

from monitor.classify import Fetch, Verdict, classify
from monitor.compare import compare
from monitor.extract import Extract, _general, _parse, extract, normalize_spaces
from monitor.reader import Reading, read_story

URL = "http://news.example/2026/10/10/wind-farm/"
PROSE = ("The wind farm generated in its first full year enough electricity for 40,000 "
         "homes, the operator said. The fund sold 40,000 shares and the consultation drew "
         "1,200 comments from residents. ")


def page(body: str, title: str = "Wind farm output") -> bytes:
    return (f"<html><head><title>{title}</title></head><body><nav><a href='/'>Home</a></nav>"
            f"<article><h1>{title}</h1>{body}</article><footer>Page generated in 0.23s at "
            "12:00</footer></body></html>").encode()


def article(*paragraphs: str) -> bytes:
    return page("".join(f"<p>{p}</p>" for p in paragraphs))


def test_numbers_in_prose_are_news_not_noise() -> None:
    before = extract(article(PROSE * 3), URL)
    assert before is not None and "generated in its first full year" in before.text
    for old, new in (("40,000 homes", "14,000 homes"), ("40,000 shares", "400,000 shares"),
                     ("1,200 comments", "2,100 comments")):
        after = extract(article((PROSE * 3).replace(old, new, 1)), URL)
        assert after is not None
        edit = compare(before, after)
        assert edit is not None, old
        assert new.split()[0] in " ".join(edit.added)


def test_counters_and_relative_times_in_a_meta_line_are_noise() -> None:
    lines = ["8.2K views · 3.5K shares · Updated an hour ago", "12,345 views · 3 comments "
             "· Updated just now", "1.1M views · Updated 1h ago", "5 minutes ago"]
    extracts = [extract(article(line, PROSE * 3), URL) for line in lines]
    assert all(e is not None for e in extracts)
    first = extracts[0]
    assert first is not None
    for other in extracts[1:]:
        assert other is not None and compare(first, other) is None


def test_a_rotating_read_more_promo_inside_the_story_is_not_an_edit() -> None:
    def promo(headline: str) -> bytes:
        return article(PROSE * 2, f"<strong>Read more:</strong> <a href='/2026/01/01/x/'>"
                       f"{headline}</a>", PROSE)
    one = extract(promo("Street lights to be switched off after midnight"), URL)
    two = extract(promo("Wind farm output falls in a calm month"), URL)
    assert one is not None and two is not None and compare(one, two) is None


def test_a_notice_above_a_list_of_other_stories_is_a_removal() -> None:
    previous = extract(article(PROSE * 4), URL)
    teasers = "".join(f"<li><a href='/2026/0{i}/01/s/'>Another story about the council "
                      f"budget and the new bus routes number {i}</a></li>" for i in range(1, 9))
    removed = extract(page("<p><strong>This article is no longer available.</strong> It was "
                           "removed at the request of the publisher.</p><h2>More from Local"
                           f"</h2><ul>{teasers}</ul><p>" + "Other news of the district. " * 45
                           + "</p>"), URL)
    assert previous is not None and removed is not None and removed.words > 150
    finding = classify(Fetch(url=URL, status=200, extract=removed), previous)
    assert finding.verdict is Verdict.REMOVED and "no longer available" in finding.reason


def test_a_long_article_that_mentions_removal_is_not_removed() -> None:
    text = PROSE * 3 + "Posts that were removed from the council page are no longer available."
    current = extract(article(text), URL)
    previous = extract(article(text.replace("operator", "company")), URL)
    assert current is not None and previous is not None
    assert classify(Fetch(url=URL, status=200, extract=current), previous).verdict \
        is Verdict.OK


def test_redirects_are_told_apart() -> None:
    def fetch(target: str, final: int = 200) -> Fetch:
        return Fetch(url=URL, status=301, location=target, final_url=target,
                     final_status=final)
    assert classify(fetch("http://news.example/")).verdict is Verdict.REMOVED
    assert classify(fetch("http://news.example/news/")).verdict is Verdict.REMOVED
    assert classify(fetch("http://news.example/council/")).verdict is Verdict.REMOVED
    moved = classify(fetch("http://news.example/2026/10/11/wind-farm-output/"))
    assert moved.verdict is Verdict.MOVED and moved.new_url.endswith("wind-farm-output/")
    assert classify(fetch("https://www.news.example/2026/10/10/wind-farm")).verdict \
        is Verdict.OK
    assert classify(fetch("http://news.example/2026/10/11/gone/", 404)).verdict \
        is Verdict.REMOVED


def test_statuses_and_failures_are_classified() -> None:
    assert classify(Fetch(url=URL, status=410)).reason == "410 Gone"
    assert classify(Fetch(url=URL, status=451)).reason == \
        "451 Unavailable For Legal Reasons"
    assert classify(Fetch(url=URL, status=503)).verdict is Verdict.FAILING
    assert classify(Fetch(url=URL, status=429)).verdict is Verdict.FAILING
    assert classify(Fetch(url=URL, status=None, error="DownloadTimeoutError")).verdict \
        is Verdict.FAILING
    assert classify(Fetch(url=URL, status=None, error="DNSLookupError")).verdict \
        is Verdict.UNREACHABLE


def test_a_title_change_alone_is_an_edit() -> None:
    before = Extract(title="Plan delayed until autumn", paragraphs=("Body.",))
    after = Extract(title="Plan put on hold after staff protest", paragraphs=("Body.",))
    edit = compare(before, after)
    assert edit is not None and "put on hold" in edit.summary()


def test_an_edit_after_markup_inside_the_headline_is_an_edit() -> None:
    def headline(words: str) -> bytes:
        return (f"<html><head><title>Site</title></head><body><article><h1>Council "
                f"<em>denies</em> {words}</h1><p>{PROSE}</p></article></body></html>").encode()
    before, after = extract(headline("the report"), URL), extract(headline("nothing"), URL)
    assert before is not None and after is not None
    assert before.title == "Council denies the report"
    edit = compare(before, after)
    assert edit is not None and edit.title_after == "Council denies nothing"


def test_the_visible_headline_is_the_title_and_the_first_non_empty_meta_fields_byline_and_date(
) -> None:
    html = ("<html><head><meta name='author' content=' '><meta name='author' content="
            "'A.  Writer'><meta property='og:title' content='Headline as shared'>"
            "<meta property='article:published_time' content='2026-10-10'></head><body>"
            f"<article><h1>Headline on the page</h1><p>{PROSE}</p></article></body></html>")
    found = extract(html.encode(), URL)
    assert found is not None
    assert (found.byline, found.title, found.published) == \
        ("A. Writer", "Headline on the page", "2026-10-10")
    unheaded = extract(html.replace("h1>", "h3>").encode(), URL)
    assert unheaded is not None and unheaded.title == "Headline as shared"
    bare = extract(html.replace("meta", "x-meta").replace("<h1>", "<h1 rel='author'>")
                   .encode(), URL)
    assert bare is not None
    assert (bare.byline, bare.title, bare.published) == \
        ("Headline on the page", "Headline on the page", None)


def test_spaces_are_normalised_as_str_split_does() -> None:
    spaces = [" ", "  ", "\n", "\t", "\r\n", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0",
              "\u2009", "\u2028", "\u3000", "\u200b", ""]
    words = ["a", "Zoë", "“quoted”", "9"]
    for first in spaces:
        for second in spaces:
            for word in words:
                text = f"{first}{word}{second}{word}{first}{second}{word}"
                assert normalize_spaces(text) == " ".join(text.split()), repr(text)
    assert normalize_spaces("already clean text") == "already clean text"


def test_a_one_word_edit_among_repeated_paragraphs_and_words_is_found() -> None:
    same = "The council met. The council met."
    before = Extract(title="T", paragraphs=(same, same, "The vote was close.", same, same))
    after = Extract(title="T", paragraphs=(same, same, "The vote was not close.", same, same))
    edit = compare(before, after)
    assert edit is not None and edit.removed == [] and edit.added == ["not"]
    assert edit.similarity == round(2 * 29 / (29 + 30), 4)
    removed = compare(after, Extract(title="T", paragraphs=(same, same, same)))
    assert removed is not None and removed.removed == ["The vote was not close. The council "
                                                       "met. The council met."]


def test_furniture_inside_the_story_goes_and_the_text_after_it_stays_in_place() -> None:
    found = extract(page(
        "<p>Before <span class='share-bar'>Share <b>this</b></span> after.</p>"
        "<div class='newsletter'><p>Sign up</p></div>Loose text<p>Next paragraph.</p>"
        "<h2>Related stories</h2><ul><li><a href='/x'>Other story</a></li></ul>"
        "<p>The story goes on after the list.</p>"), URL)
    assert found is not None
    assert found.paragraphs == ("Wind farm output", "Before after.", "Loose text",
                                "Next paragraph.", "The story goes on after the list.")


STORY = [f"Paragraph {n} of the council's report on the flood defences, with the figures "
         f"the inspectors gave for {n * 120} homes at risk in the lower district." for n in
         range(1, 9)]
AROUND = ("<header><nav><a href='/'>Home</a> <a href='/news/'>News</a></nav></header>"
          "<aside class='sidebar'><h3>Most read</h3><ul><li><a href='/a/'>Other story "
          "one</a></li><li><a href='/b/'>Other story two</a></li></ul></aside>")


def test_trafilatura_reads_a_page_whose_story_no_element_holds() -> None:
    # Old table layouts: the story's text sits in cells, in no <p>, <article> or named
    # element. The fallback must really run (a plain lxml tree made it return None).
    cells = "".join(f"<tr><td>{p}</td></tr>" for p in STORY)
    html = (f"<html><head><title>Flood report</title></head><body><table>{cells}</table>"
            "</body></html>").encode()
    root = _parse(html)
    assert root is not None and read_story(root).container is None
    assert _general(root, URL) is not None
    found = extract(html, URL)
    assert found is not None and found.reader == Reading.TRAFILATURA
    assert "4 of the council's report" in found.text


def test_story_wrappers_named_like_furniture_are_read_whole() -> None:
    # Names that hold a furniture word without being furniture: a Drupal field, an
    # Elementor widget, a layout, a breadcrumb template, an ad-free column, a pager.
    for wrapper in ("field field--label-hidden", "elementor-widget-container",
                    "l-sidebar-fixed", "url-breadcrumb", "non-ad-column", "pagination-first"):
        body = "".join(f"<p>{p}</p>" for p in STORY)
        html = (f"<html><body>{AROUND}<main><h1>Flood report</h1><div class='{wrapper}'>"
                f"{body}</div></main></body></html>").encode()
        found = extract(html, URL)
        assert found is not None, wrapper
        assert all(p in found.paragraphs for p in STORY), wrapper


def test_paragraphs_that_share_one_class_are_one_story() -> None:
    body = "".join(f"<p class='article-body-text'>{p}</p>" for p in STORY)
    found = extract(f"<html><body>{AROUND}<div>{body}</div></body></html>".encode(), URL)
    assert found is not None and all(p in found.paragraphs for p in STORY)


def test_of_two_main_sections_the_one_holding_the_story_is_read() -> None:
    river = "".join(f"<div class='teaser'><h3><a href='/s{n}/'>Teaser headline {n}</a></h3>"
                    f"<p>A short summary of another story.</p></div>" for n in range(6))
    story = "".join(f"<p>{p}</p>" for p in STORY)
    html = (f"<html><body><section role='main'>{river}</section><section role='main'>"
            f"<h1>Flood report</h1>{story}</section></body></html>").encode()
    found = extract(html, URL)
    assert found is not None and all(p in found.paragraphs for p in STORY)
    assert not any("Teaser headline" in p for p in found.paragraphs)


def test_the_visible_headline_is_compared_when_og_title_stays_the_same() -> None:
    def headline(words: str) -> bytes:
        story = "".join(f"<p>{p}</p>" for p in STORY)
        return (f"<html><head><meta property='og:title' content='Flood report: homes at risk'>"
                f"</head><body>{AROUND}<header class='article-header'><h1>Flood report: "
                f"{words}</h1></header><div class='story-body'>{story}</div></body>"
                f"</html>").encode()
    before, after = extract(headline("homes at risk"), URL), extract(headline(
        "council admits homes at risk"), URL)
    assert before is not None and after is not None
    assert before.title == "Flood report: homes at risk"
    edit = compare(before, after)
    assert edit is not None and "admits" in edit.summary()


def test_a_notice_among_a_byline_a_credit_and_a_ticker_is_a_removal() -> None:
    previous = extract(article(*STORY), URL)
    removed = extract(page(
        "<p class='byline'>By A. Reporter, Local Democracy Reporter</p><figure><img src="
        "'/x.jpg'><figcaption>Photo: River Authority. The levee at dawn.</figcaption></figure>"
        "<p>10 October 2026 · 12 shares</p><p>Sorry, the article you are looking for is no "
        "longer available.</p><div>Markets: FTSE 7,412.3 ▲ 0.4% · Dow 38,201 ▼ 0.1% · "
        "Brent 81.20 · Gold 2,310 · Bitcoin 61,200 · Euro 1.084 · Yen 151.2 · "
        "Weather: 14°C, showers later, wind from the south-west at 20 mph</div>"), URL)
    assert previous is not None and removed is not None
    finding = classify(Fetch(url=URL, status=200, extract=removed), previous)
    assert finding.verdict is Verdict.REMOVED and "no longer available" in finding.reason


def test_a_page_with_no_article_is_compared_by_its_visible_text() -> None:
    def gallery(caption: str) -> bytes:
        return (f"<html><body>{AROUND}<div class='gallery'><img src='/1.jpg'><span>"
                f"{caption}</span></div></body></html>").encode()
    before, after = extract(gallery("The levee at dawn, seen from the bridge"), URL), \
        extract(gallery("The breached levee at dawn, seen from the bridge"), URL)
    assert before is not None and after is not None
    assert before.reader == Reading.PAGE and not before.article
    edit = compare(before, after)
    assert edit is not None and edit.added == ["breached"]


def test_a_redirect_to_a_non_web_address_or_in_a_loop_is_not_a_move() -> None:
    for target in ("file:///etc/passwd", "ftp://files.example/story.txt",
                   "data:text/html,<p>hi</p>"):
        finding = classify(Fetch(url=URL, status=302, location=target))
        assert finding.verdict is Verdict.FAILING and "non-web" in finding.reason, target
    looping = classify(Fetch(url=URL, status=301, location=URL + "x/", final_url=URL + "x/",
                             final_status=301))
    assert looping.verdict is Verdict.FAILING and "loop" in looping.reason
    itself = classify(Fetch(url=URL, status=301, location=URL))
    assert itself.verdict is Verdict.FAILING and "loop" in itself.reason


def _lead_apart(standfirst: str) -> bytes:
    # A template that sets the headline and standfirst above two columns: a rail of
    # most-read teasers (opened by its label) and the story's body, in no named element.
    cards = "".join(
        f"<article><a href='/more/{n}/'><img src='/{n}.jpg'><h3>Most read story number {n} "
        "about the harbour</h3></a><p>A teaser of a sentence or two about another story of "
        f"the day, number {n}, written for the rail of the page.</p></article>"
        for n in range(1, 5))
    return ("<html><head><title>Levee holds</title></head><body><div class='wrapper'>"
            "<section class='contenedor'><section class='encabezado'><article id='titular'>"
            f"<h1>Levee holds through the night</h1>{standfirst}</article></section>"
            f"<section class='columna-derecha'><div class='masleidas'><div class='rotulo'>"
            f"Las + leídas</div>{cards}</div></section><section class='columna-izquierda'>"
            "<div class='cuerpo'>" + "".join(f"<p>{p}</p>" for p in STORY) +
            "</div></section></section></div></body></html>").encode()


STANDFIRST = ("<div class='bajada'><p>Engineers said the repaired section kept the river "
              "out of the lower district.</p></div>")


def test_a_standfirst_set_apart_from_the_body_is_read_and_a_rail_between_is_not() -> None:
    before, after = extract(_lead_apart(STANDFIRST), URL), extract(_lead_apart(""), URL)
    assert before is not None and after is not None
    assert "kept the river out of the lower district" in before.text
    assert "Most read story" not in before.text and "teaser" not in before.text
    # Taking the standfirst away changes only that: what is read stays where it was.
    edit = compare(before, after)
    assert edit is not None and edit.added == []
    assert edit.removed == ["Engineers said the repaired section kept the river out of the "
                            "lower district."]


def _handbook(headline: str) -> bytes:
    # A documentation site's page: its name in an <h1> linking to the index, the page's
    # own <h1> with a permalink's pilcrow.
    return ("<html><head><title>Reading the flood gauge — Flood gauge handbook</title></head>"
            "<body><div class='header'><h1 class='heading'><a href='index.html'><span>Flood "
            "gauge handbook</span></a></h1></div><div class='content'><div class='section'>"
            f"<h1>{headline}<a class='headerlink' href='#gauge'>\u00b6</a></h1>"
            + "".join(f"<p>{p}</p>" for p in STORY) + "</div></div></body></html>").encode()


def test_a_heading_that_links_to_the_index_is_the_sites_name_not_the_headline() -> None:
    before = extract(_handbook("Reading the flood gauge"), URL)
    after = extract(_handbook("Reading the tide gauge"), URL)
    assert before is not None and after is not None
    assert before.title.startswith("Reading the flood gauge")
    edit = compare(before, after)
    assert edit is not None and "tide" in edit.summary()


def _how_to(steps: list[str]) -> bytes:
    # Each step a paragraph in wrappers of its own, and a long rail of related links in
    # the same column: the rail must not keep the reader from gathering the steps.
    wrap = "<div class='mod step'><div class='stepContent'><div class='content{}'><p>{}</p>" \
           "</div></div></div>"
    intro = ("Glass cloche terrariums keep a bit of nature in the home and need little care, "
             "as they hold their own moisture and give plants a warm and even climate. ") * 3
    related = "".join(f"<li><a href='/related/{n}/'>Another how-to guide from the crafts "
                      f"section of the site, number {n} of the list</a></li>"
                      for n in range(14))
    return ("<html><head><title>How to build a terrarium</title></head><body>"
            "<div class='col-main'><header class='page-head'><h1>How to build a terrarium"
            "</h1></header>" + wrap.format(" lead", intro) +
            "".join(wrap.format("", step) for step in steps) +
            f"<aside class='mod related'><ul>{related}</ul></aside></div></body></html>"
            ).encode()


STEPS = [f"Step {n}: place the {thing} in the cloche and press it gently into the soaked "
         "foam so that it stands upright." for n, thing in enumerate(
             ("moss", "fern", "pebbles", "orchid", "succulent", "pumpkin"), start=1)]


def test_the_steps_of_a_how_to_in_wrappers_of_their_own_are_read_together() -> None:
    before = extract(_how_to(STEPS), URL)
    after = extract(_how_to(STEPS[:3] + STEPS[4:]), URL)
    assert before is not None and after is not None
    assert all(step in before.paragraphs for step in STEPS)
    assert "Another how-to guide" not in before.text
    edit = compare(before, after)
    assert edit is not None and edit.removed == [STEPS[3]]
