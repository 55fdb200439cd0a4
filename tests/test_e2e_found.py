"""Found by bench/e2e_realpages.py (the CLI on real pages and variants), pinned until fixed."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler

from conftest import Vigil, send_html
from crawler.demo.siteserver import SiteServer

STORY = " ".join(
    f"Paragraph {n} of the council's report says the river crossing will close for repairs "
    "for most of the spring, while engineers inspect the piers and the old iron railings."
    for n in range(12))


def _article(views: int) -> bytes:
    paragraphs = "".join(f"<p>{s.strip()}.</p>" for s in STORY.split(".") if s.strip())
    return (f"<html><head><title>Bridge to close | Riverside</title></head><body>"
            f"<header><nav><a href='/'>Home</a></nav></header><article><h1>Bridge to "
            f"close for repairs</h1>{paragraphs}</article><aside><p>{views:,} views</p>"
            f"</aside></body></html>").encode()


# A site that answers any URL under the article's path with the article (routing on an id,
# ignoring the rest) gives vigil's not-found probe the article itself: every recapture whose
# bytes changed "looked like the site's not-found page" and was reported removed, noise and
# edits alike (bench/e2e_realpages.py --modes catchall; fixed in monitor/classify.py).
def test_a_site_that_answers_every_url_with_the_article_raises_nothing_on_a_new_counter(
        vigil: Vigil) -> None:
    page = {"body": _article(1200)}

    def every_url(handler: BaseHTTPRequestHandler) -> None:
        send_html(handler, page["body"])

    with SiteServer({"*": every_url}, host="127.0.0.2") as site:
        url = site.url("/news/12345/bridge-to-close/")
        vigil.run("add", url)
        assert vigil.crawl()["events"] == []
        page["body"] = _article(1350)  # only the view counter in the sidebar moved
        events = vigil.crawl()["events"]
    assert [(e["kind"], e["summary"]) for e in events] == []
