"""Pages built to make a pattern backtrack are read in one pass, with the same answers."""

from __future__ import annotations

from spiders.htmlscan import visible_text_length
from spiders.links import _srcset_urls
from spiders.rendering import client_rendered

# Each of these took the square of its length or worse with a lazy or nested pattern
# searched over the page (an app root followed by 14 KB of comments held the crawl for
# minutes); read in one pass they take milliseconds. Nothing here times them: a return
# of the old patterns shows as a test that never ends.
N = 200_000


def test_an_app_root_followed_by_many_comments_is_read_once() -> None:
    comments = b"<!---->" * N
    assert client_rendered(b'<body><div id="app">' + comments + b"</div></body>") == \
        "an empty app root"
    assert client_rendered(b'<body><div id="app">' + comments + b"<p>x</p>") is None


def test_app_roots_opened_inside_one_long_comment_are_read_once() -> None:
    page = b"<body>" + b'<div id="app"><!--' * N + b"--></div>"
    assert client_rendered(page) == "an empty app root"


def test_unclosed_styles_scripts_and_noscripts_are_read_once() -> None:
    for tag in (b"style", b"script", b"noscript"):
        assert visible_text_length(b"<body>" + (b"<" + tag + b">x") * N) == 0
        assert client_rendered(b"<body><p>" + b"<" + tag * N) is None


def test_an_unclosed_script_hides_the_rest_of_the_page_as_in_a_browser() -> None:
    assert visible_text_length(b"<body><p>seen here</p><script>var hidden = 1") == 8
    assert visible_text_length(b"<body><p>seen</p><STYLE>p{}</style >too</p>") == 7


def test_a_noscript_notice_full_of_unclosed_tags_is_read_once() -> None:
    notice = b"<body><noscript>Please enable JavaScript" + b"<a" * N + b"</noscript>"
    assert client_rendered(notice) == "a <noscript> notice asks for JavaScript"


def test_a_srcset_of_unclosed_parentheses_is_read_once() -> None:
    assert list(_srcset_urls("/a.jpg 1x, /b.jpg (" + "x (" * N)) == ["/a.jpg", "/b.jpg"]
    assert list(_srcset_urls("/w_400,c_fill/a.jpg 400w, /b.jpg (min-width: 2px) 2x")) == [
        "/w_400,c_fill/a.jpg", "/b.jpg"]
