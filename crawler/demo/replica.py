"""The replica news site: a regional paper and the outside pages its articles cite.

Its structure follows the two real source pages vigil was first asked to keep (a
long testimony article with sub-headings, quotes, byline, share bar, citation
formats, photo caption, tags, author box, "Related articles" and "Keep Reading"
blocks, a "Most Read" sidebar, a deep menu and a footer); all text is invented.
"""

from __future__ import annotations

import json
import random
import struct
import zlib
from datetime import UTC, datetime
from functools import partial
from html import escape

from crawler.demo.siteserver import Resource, Route

SEED_PATH = "/2026/03/14/residents-describe-night-the-levee-gave-way/"

ARTICLES = {
    SEED_PATH: ("Residents describe the night the levee gave way",
                "Survivors say warnings came hours after the water did."),
    "/2026/03/02/inspectors-flagged-cracks-a-year-earlier/":
        ("Inspectors flagged cracks a year earlier",
         "A maintenance log seen by the Herald lists repairs that never happened."),
    "/2026/02/20/county-denies-delaying-evacuation-order/":
        ("County denies delaying the evacuation order",
         "Officials say the order went out as soon as gauges showed a rise."),
    "/2026/03/10/families-still-waiting-for-relief-payments/":
        ("Families still waiting for relief payments",
         "Applications filed in the first week remain unanswered."),
    "/2026/03/12/volunteers-map-the-flooded-streets/":
        ("Volunteers map the flooded streets",
         "A community group walked every block of the lower district."),
    # Only linked from a related article: a crawl at depth 1 must not reach it.
    "/2026/01/15/river-authority-budget-cut-approved/":
        ("River authority budget cut approved",
         "The council voted to trim the maintenance line by a fifth."),
}
# Links from the seed page's blocks, for tests and the demo's report.
RELATED = ["/2026/03/02/inspectors-flagged-cracks-a-year-earlier/",
           "/2026/02/20/county-denies-delaying-evacuation-order/"]
KEEP_READING = ["/2026/03/10/families-still-waiting-for-relief-payments/",
                "/2026/03/12/volunteers-map-the-flooded-streets/"]
DEPTH_TWO = "/2026/01/15/river-authority-budget-cut-approved/"
MOST_READ = ["/2025/11/30/high-school-team-wins-regional-final/",
             "/2025/12/08/new-bakery-opens-on-main-street/",
             "/2025/10/21/bridge-repaint-finished-ahead-of-schedule/"]
FURNITURE = ["/", "/news/", "/tag/flooding/", "/author/mara-osei/", "/category/investigations/",
             "/about/"]
REQUISITES = ["/static/css/site.css", "/static/js/site.js", "/static/img/levee-800.png",
              "/static/img/levee-1600.png", "/static/img/pattern.png",
              "/static/fonts/herald-serif.woff2", "/favicon.ico"]
# A script-rendered article (an empty app root filled from a JSON API, a lazy image), linked
# from no other page: a source of its own, captured through the browser.
LIVE_PATH = "/live/levee-repairs/"
LIVE_API = "/api/live/levee-repairs.json"
OUTSIDE_REPORT = "/reports/levee-inspection-2025.html"
OUTSIDE_PDF = "/documents/inspection-summary.pdf"


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid, solid-colour PNG image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    row = b"\x00" + bytes(rgb) * width
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                              0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))


_MENU = """<nav class="main-menu" aria-label="Sections"><ul>
<li><a href="/">Home</a></li>
<li><a href="/news/">News</a><ul><li><a href="/news/county/">County</a></li>
<li><a href="/news/courts/">Courts</a></li><li><a href="/news/environment/">Environment</a></li>
</ul></li>
<li><a href="/category/investigations/">Investigations</a><ul>
<li><a href="/category/investigations/documents/">Documents</a></li>
<li><a href="/category/investigations/testimonies/">Testimonies</a></li></ul></li>
<li><a href="/about/">About</a></li></ul></nav>"""


def _page(title: str, inner: str) -> bytes:
    ad_id = f"ad-{random.randrange(10**8):08d}"
    most_read = random.sample(MOST_READ, k=len(MOST_READ))
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    sidebar = "".join(f'<li><a href="{p}">{escape(p.strip("/").split("/")[-1]).title()}</a>'
                      f"</li>" for p in most_read)
    html = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{escape(title)} | The Riverside Herald</title>
<link rel="stylesheet" href="/static/css/site.css">
<link rel="icon" href="/favicon.ico">
<script src="/static/js/site.js" defer></script>
</head><body>
<header class="masthead"><a class="skip" href="#content">Skip to main content</a>
<p class="brand"><a href="/">The Riverside Herald</a></p>
<p class="tagline">Independent news for the lower valley</p>{_MENU}</header>
<div class="cookie-banner">We use cookies to count visits. <button>OK</button></div>
<div class="page">
<main id="content">{inner}</main>
<aside class="sidebar"><section class="most-read"><h3>Most Read</h3><ol>{sidebar}</ol>
</section><div class="ad-slot" id="{ad_id}">Advertisement</div></aside>
</div>
<footer class="site-footer"><p>The Riverside Herald, 14 Quay Street, Lowbridge</p>
<p><a href="/about/">About us</a> · <a href="/tag/flooding/">Flooding</a></p>
<p class="generated">Page generated at {now} UTC</p></footer>
</body></html>"""
    return html.encode("utf-8")


def _seed(outside: str) -> str:
    title, dek = ARTICLES[SEED_PATH]
    related = "".join(f'<li><article class="teaser"><a href="{p}">{escape(ARTICLES[p][0])}</a>'
                      f"</article></li>" for p in RELATED)
    keep = "".join(f'<li><a href="{p}">{escape(ARTICLES[p][0])}</a></li>' for p in KEEP_READING)
    url = "{url}"
    return f"""<article class="post">
<p class="breadcrumbs"><a href="/">Home</a> / <a href="/news/">News</a></p>
<header class="entry-header"><h1>{escape(title)}</h1><p class="dek">{escape(dek)}</p>
<p class="byline">03/14/2026 · by <a href="/author/mara-osei/">Mara Osei</a></p></header>
<div class="share-bar"><a href="https://www.facebook.com/sharer/sharer.php?u={url}">Share</a>
<a href="https://twitter.com/intent/tweet?url={url}">Post</a></div>
<figure><img src="/static/img/levee-800.png"
 srcset="/static/img/levee-800.png 800w, /static/img/levee-1600.png 1600w" alt="">
<figcaption>The breach in the east levee, photographed the next morning.</figcaption></figure>
<div class="entry-content">
<p>Residents of the lower district say the water reached their doors long before any
warning did. Eleven people who spoke to the Herald described the same sequence: a low
roar after midnight, then water rising faster than they could carry things upstairs.</p>
<p>"We heard it before we saw it," said a retired bus driver who asked to be named only
as Tomas. "By the time the siren went, the street was a river."</p>
<h2>A warning that came late</h2>
<p>According to an <a href="{outside}{OUTSIDE_REPORT}">inspection report published by the
Valley Watershed Trust</a>, engineers had rated the east levee "poor" the previous spring.
The trust's <a href="{outside}{OUTSIDE_PDF}">summary of findings</a> lists three sections
where seepage was observed.</p>
<p>Earlier this month the Herald reported that <a href="{RELATED[0]}">inspectors had
flagged cracks a year earlier</a>. The county says its response was immediate.</p>
<h2>"Nobody came to our street"</h2>
<blockquote><p>"We waited on the roof until the sun came up. Nobody came to our street
until the afternoon," said a nurse who lives near the pumping station.</p></blockquote>
<p>A county spokesperson said crews were deployed "in order of need" and denied that any
neighbourhood had been overlooked.</p>
</div>
<section class="cite-this"><h4>Cite this article</h4>
<p>Osei, M. (2026, March 14). Residents describe the night the levee gave way. The
Riverside Herald. Retrieved from {SEED_PATH}</p></section>
<p class="tags">Tags: <a href="/tag/flooding/">flooding</a>
<a href="/tag/lower-district/">lower district</a></p>
<div class="author-box"><img src="/static/img/pattern.png" alt="">Mara Osei covers the
county for the Herald. <a href="/author/mara-osei/">More by Mara Osei</a></div>
<section class="related-articles"><h3>Related articles</h3><ul>{related}</ul></section>
<div class="more-stories"><h3>Keep Reading</h3><ul>{keep}</ul></div>
</article>"""


def _article(path: str) -> str:
    title, dek = ARTICLES[path]
    deeper = "" if path == DEPTH_TWO else (
        f'<section class="related"><h3>Related</h3><ul><li><a href="{DEPTH_TWO}">'
        f"{escape(ARTICLES[DEPTH_TWO][0])}</a></li></ul></section>")
    return f"""<article class="post"><header class="entry-header"><h1>{escape(title)}</h1>
<p class="byline">by <a href="/author/mara-osei/">Mara Osei</a></p></header>
<div class="entry-content"><p>{escape(dek)}</p>
<p>This report is part of the Herald's continuing coverage of the levee failure and its
aftermath in the lower district.</p>
<p>Read <a href="{SEED_PATH}">what residents told us</a> about the night itself.</p></div>
{deeper}</article>"""


_CSS = b"""@font-face { font-family: "Herald Serif";
  src: url("../fonts/herald-serif.woff2") format("woff2"); }
body { font-family: "Herald Serif", Georgia, serif; margin: 0; }
.masthead { background: url(/static/img/pattern.png) repeat-x; padding: 1em; }
.page { display: flex; gap: 2em; } main { flex: 3; } aside { flex: 1; }
figure img { max-width: 100%; }
"""


def news_site(outside: str) -> dict[str, Route]:
    """Routes of the Herald; ``outside`` is the base URL of the site its articles cite."""
    routes: dict[str, Route] = {
        SEED_PATH: Resource(lambda: _page(ARTICLES[SEED_PATH][0], _seed(outside)), gzip=True),
        "/robots.txt": Resource(b"User-agent: *\nDisallow: /private/\n",
                                content_type="text/plain"),
        "/static/css/site.css": Resource(_CSS, content_type="text/css", gzip=True),
        "/static/js/site.js": Resource(b"document.documentElement.classList.add('js');\n",
                                       content_type="application/javascript", gzip=True),
        "/static/img/levee-800.png": Resource(png(80, 40, (90, 110, 130)),
                                              content_type="image/png"),
        "/static/img/levee-1600.png": Resource(png(160, 80, (90, 110, 130)),
                                               content_type="image/png"),
        "/static/img/pattern.png": Resource(png(8, 8, (200, 40, 40)), content_type="image/png"),
        "/static/fonts/herald-serif.woff2": Resource(b"wOF2" + bytes(range(256)) * 4,
                                                     content_type="font/woff2"),
        "/favicon.ico": Resource(png(16, 16, (20, 20, 20)), content_type="image/x-icon"),
    }
    for path, (title, _dek) in ARTICLES.items():
        if path != SEED_PATH:
            routes[path] = Resource(partial(_article_page, path, title), gzip=True)
    for path in [*FURNITURE, *MOST_READ, "/tag/lower-district/"]:
        routes.setdefault(path, Resource(partial(_listing_page, path), gzip=True))
    routes.update(live_routes())
    return routes


_LIVE_SHELL = b"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>The Riverside Herald</title><link rel="stylesheet" href="/static/css/site.css"></head>
<body><div id="app"></div>
<noscript>Please enable JavaScript to follow this live report.</noscript>
<script src="/static/js/live.js"></script></body></html>"""
_LIVE_JS = b"""fetch('/api/live/levee-repairs.json').then(r => r.json()).then(story => {
  const app = document.getElementById('app');
  app.innerHTML = '<main><article class="post"><h1></h1><p class="byline"></p>' +
    '<div class="entry-content"></div><figure style="margin-top:1400px">' +
    '<img loading="lazy" src="/static/img/levee-800.png" width="400" height="200" ' +
    'alt="The east levee"><figcaption>The east levee, March 2026.</figcaption></figure>' +
    '</article></main>';
  app.querySelector('h1').textContent = story.headline;
  app.querySelector('.byline').textContent = 'by ' + story.byline;
  for (const text of story.updates) {
    const p = document.createElement('p');
    p.textContent = text;
    app.querySelector('.entry-content').appendChild(p);
  }
  document.title = story.headline + ' | The Riverside Herald';
});
"""
LIVE_STORY = {
    "headline": "Live: levee repairs, day by day",
    "byline": "Mara Osei",
    "updates": [
        "Crews began reinforcing the east levee at dawn, the river authority said.",
        "Sandbag lines now run the length of Mill Road; residents are asked to stay clear.",
        "The authority expects the first section to be finished by Friday.",
    ],
}


def live_routes() -> dict[str, Route]:
    """The script-rendered article: its shell, its script and its JSON API (all gzipped)."""
    return {
        LIVE_PATH: Resource(_LIVE_SHELL, gzip=True),
        "/static/js/live.js": Resource(_LIVE_JS, content_type="application/javascript",
                                       gzip=True),
        LIVE_API: Resource(lambda: json.dumps(LIVE_STORY).encode(),
                           content_type="application/json", gzip=True),
    }


def _article_page(path: str, title: str) -> bytes:
    return _page(title, _article(path))


def _listing_page(path: str) -> bytes:
    return _page("Section", f"<h1>{escape(path)}</h1><p>Listing.</p>")


def outside_site() -> dict[str, Route]:
    """The Valley Watershed Trust: the report and document the articles cite."""
    report = b"""<!DOCTYPE html><html><head><meta charset="utf-8">
<title>East levee inspection, 2025</title><link rel="stylesheet" href="/trust.css"></head>
<body><nav><a href="/">Valley Watershed Trust</a></nav><main><article>
<h1>East levee inspection, 2025</h1>
<p>Condition rating: poor. Seepage observed at three sections; crest settlement of up to
eleven centimetres. Repairs recommended before the next flood season.</p>
<p><a href="/documents/inspection-summary.pdf">Download the summary (PDF)</a></p>
</article></main></body></html>"""
    pdf = (b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n"
           + bytes(range(256)) * 8 + b"\n%%EOF\n")
    return {
        "/robots.txt": Resource(b"User-agent: *\nAllow: /\n", content_type="text/plain"),
        OUTSIDE_REPORT: Resource(report),
        "/trust.css": Resource(b"body { color: #123; }\n", content_type="text/css"),
        OUTSIDE_PDF: Resource(pdf, content_type="application/pdf"),
    }


def quietly_edit(news: dict[str, Route], outside: dict[str, Route], outside_base: str) -> None:
    """What happens to sources: the lead article's denial is quietly rewritten, a related
    article is taken down, and the report it cites disappears."""
    edited = _seed(outside_base).replace(
        "denied that any\nneighbourhood had been overlooked",
        "confirmed that two\nneighbourhoods had been overlooked")
    news[SEED_PATH] = Resource(partial(_page, ARTICLES[SEED_PATH][0], edited), gzip=True)
    news[RELATED[0]] = Resource(partial(_page, "Page not found", "<h1>Page not found</h1>"
                                        "<p>Sorry, this article is no longer available.</p>"),
                                gzip=True)
    outside[OUTSIDE_REPORT] = Resource(b"<h1>Gone</h1>", status=410)
