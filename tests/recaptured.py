"""A news article captured, then recaptured with a 304, for the replay and citation tests:
its stylesheet comes back an identical payload, and the article it links to a removal notice."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from conftest import Vigil, free_port, next_second, validating
from crawler.demo.siteserver import Resource, SiteServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
WAYBACK = Path(__file__).resolve().parent.parent / ".venv-pywb" / "bin" / "wayback"
needs_pywb = pytest.mark.skipif(not WAYBACK.exists(), reason="make install puts pywb there")
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium: make")

ARTICLE = "/2026/11/20/levee-inquiry/"
REMOVED = "/2026/11/19/pump-station-report/"
STYLESHEET = "/static/site.css"
ETAG = '"levee-1"'
HEADLINE = "Inquiry finds the levee warnings went unheeded"
ARTICLE_HTML = f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<title>{HEADLINE} | Riverside Herald</title>
<meta property="og:site_name" content="Riverside Herald">
<meta property="article:published_time" content="2026-11-20T08:15:00Z">
<link rel="stylesheet" href="{STYLESHEET}">
<script type="application/ld+json">{{"@context": "https://schema.org",
 "@type": "NewsArticle", "headline": "{HEADLINE}", "datePublished": "2026-11-20T08:15:00Z",
 "author": [{{"@type": "Person", "name": "Ada Brook"}},
            {{"@type": "Person", "name": "Tomás van der Berg"}}],
 "publisher": {{"@type": "Organization", "name": "Riverside Herald"}}}}</script>
</head><body><header class="masthead">Riverside Herald</header><article>
<h1>{HEADLINE}</h1><p class="byline">By Ada Brook and Tomás van der Berg</p>
<p>The independent inquiry into the November flood found that three written warnings
about the east levee reached the council in the spring and were filed without action.</p>
<p>Engineers had measured seepage at the base of the embankment on four occasions, the
report says, and recommended that the pumps at the station be replaced before winter.</p>
<p>Read the <a href="{REMOVED}">pump station report</a> the inquiry relied on.</p>
</article></body></html>""".encode()
REMOVED_HTML = b"""<!DOCTYPE html><html><head><meta charset="utf-8">
<title>Pump station failed its last two inspections</title>
<meta name="author" content="Carl Doe">
<meta name="citation_publication_date" content="2026/11/19">
</head><body><article><h1>Pump station failed its last two inspections</h1>
<p>Inspectors found the pumps at the east station unable to run at full load in both of
the inspections held this year, according to records seen by the Herald.</p>
<p>The council said repairs were scheduled but gave no date for them.</p>
</article></body></html>"""
NOTICE_HTML = b"""<!DOCTYPE html><html><head><title>Page not found</title></head><body>
<h1>Page not found</h1><p>Sorry, this article is no longer available.</p></body></html>"""


# The article, answering 304 to a request that carries its ETag.
article = validating(lambda: ARTICLE_HTML, ETAG)


def wait_for(url: str, seconds: float = 90.0) -> None:
    """Until ``url`` answers (any HTTP status): pywb's start can take tens of seconds on a
    loaded machine."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered")


def start_serve(vigil: Vigil, *extra: str, env: dict[str, str] | None = None
                ) -> tuple[subprocess.Popen[bytes], int]:
    """`vigil serve` on a free port whose next port (the replay's) is free too. Another
    test may take that next port between the look and the start: then on other ports."""
    for attempt in range(3):
        port = free_port("127.0.0.1")
        while free_port("127.0.0.1") == port + 1:
            port = free_port("127.0.0.1")
        server = subprocess.Popen([sys.executable, "-m", "crawler.cli", "--home",
                                   str(vigil.home), "serve", "--port", str(port), *extra],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  env=env)
        try:
            wait_for(f"http://127.0.0.1:{port}/")
            if WAYBACK.exists():
                wait_for(f"http://127.0.0.1:{port + 1}/static/wombat.js")
            return server, port
        except AssertionError:
            server.terminate()
            server.wait(timeout=20)
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@contextmanager
def recaptured(vigil: Vigil) -> Iterator[SiteServer]:
    """The site, captured twice into ``vigil``'s home (in different seconds), the second
    time after the linked article was taken down."""
    routes: dict[str, Any] = {
        ARTICLE: article, REMOVED: Resource(REMOVED_HTML),
        STYLESHEET: Resource(b"article { font-family: 'Herald Serif', serif }",
                             content_type="text/css")}
    with SiteServer(routes, host="127.0.0.2") as site:
        vigil.run("add", site.url(ARTICLE))
        vigil.crawl()
        next_second()  # the two captures fall in different seconds
        routes[REMOVED] = Resource(NOTICE_HTML)
        vigil.crawl()
        yield site
