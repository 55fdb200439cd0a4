"""The reader's measure of text: XPath's normalized string length, and comparisons with it."""

from __future__ import annotations

from lxml import etree

from monitor.reader import text_length, text_longer_than
from spiders.links import parse_html

_XPATH_LENGTH = etree.XPath("string-length(normalize-space(.))")

FRAGMENTS = [
    "<p>plain words</p>",
    "<p>  leading and trailing \t</p>",
    "<p>a\n\n  b\tc\r\nd</p>",
    "<p>no\u00a0break\u00a0space\u2003em space</p>",
    "<div>one <a href='/x'>link</a>  and <b>bold <i>deep</i></b>\n tail</div>",
    "<div><!-- a comment -->text<?pi ignored?> more</div>",
    "<div><p>\n   </p>\n<p>x</p>   </div>",
    "<p>caf&eacute; &amp; &lt;tag&gt;</p>",
    "<p></p>",
]


def _element(fragment: str) -> etree._Element:
    body = etree.fromstring(f"<html><body>{fragment}</body></html>", etree.HTMLParser())
    element = body.find("body")
    assert element is not None and len(element)
    return element[0]


def test_text_length_is_xpaths_normalized_string_length() -> None:
    for fragment in FRAGMENTS:
        element = _element(fragment)
        assert text_length(element) == int(_XPATH_LENGTH(element)), fragment


def test_a_long_text_is_longer_than_a_length_exactly_when_its_whole_measure_is() -> None:
    # Runs of whitespace longer than the part of the text read first: its beginning
    # measures far less than its raw length, and only the whole decides.
    texts = ["<p>" + "a" + " " * 300 + "b" * 40 + "</p>",
             "<div>" + "\n      <span>word</span>" * 60 + "</div>",
             "<div>" + "x " * 400 + "</div>",
             "<p>" + "\t" * 100 + "short" + "\r\n" * 100 + "</p>"]
    for html in texts:
        element = _element(html)
        whole = text_length(element)
        for length in range(0, whole + 3):
            assert text_longer_than(element, length) is (whole > length), (html[:30], length)


def test_a_heading_s_container_is_its_block_only_while_under_half_the_text_around_it(
) -> None:
    # Indented markup, as most sites send it: whitespace the measure collapses. The
    # link before the heading is related only when the whole box is the block (the
    # siblings after the heading are, otherwise).
    def page(words: int) -> str:
        story = "\n        ".join(["Word"] * words)
        return (f'<html><body>\n  <main>\n    <div class="story"><p>{story}</p></div>\n'
                '    <div class="box">\n      <a href="/2026/01/01/before/">Before</a>\n'
                '      <h2>Related articles</h2>\n'
                '      <a href="/2026/01/01/after/">After</a>\n    </div>\n  </main>\n'
                '</body></html>')

    outcomes = set()
    for words in range(1, 12):
        html = page(words)
        root = etree.fromstring(html, etree.HTMLParser())
        main, box = root.find(".//main"), root.find(".//div[@class='box']")
        whole_box = int(_XPATH_LENGTH(box)) < 0.5 * int(_XPATH_LENGTH(main))
        related = parse_html(html, "https://news.example/").related
        before = "https://news.example/2026/01/01/before/" in related
        assert "https://news.example/2026/01/01/after/" in related
        assert before is whole_box, words
        outcomes.add(before)
    assert outcomes == {True, False}
