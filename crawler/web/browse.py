"""The app's pages for people: what the archive holds, and every capture of one URL."""

from __future__ import annotations

from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from archive.found_by import FoundBy
from archive.timeutil import digits14, iso_seconds, parse_stored
from crawler.app.home import Home
from crawler.app.store import Store
from crawler.web.memento import Memento, quoted, target_url
from crawler.web.pages import page

# Pages listed under each source on the home page, newest first.
_LISTED = 200


def _link(url: str, text: str | None = None) -> str:
    return (f"<a href='/captures/{escape(quoted(url))}'>{escape(text or url)}</a>")


class Browse:
    """``/``: the sources and the pages captured for them; ``/captures/<url>``: a URL's
    captures, each a link to its memento."""

    def __init__(self, home: Home, memento: Memento) -> None:
        self.home, self.memento = home, memento
        self.routes = [Route("/", self.index),
                       Route("/captures/{url:path}", self.captures)]

    def _pages(self, store: Store) -> dict[int, list[dict[str, Any]]]:
        """Each source's pages, latest first (up to _LISTED each), in one query: one per
        source read every capture (captures have no source_id index) for every source."""
        pages: dict[int, list[dict[str, Any]]] = {}
        for row in store.db.query(
                "SELECT source_id, url, COUNT(*) AS n, MAX(timestamp) AS last FROM captures "
                "WHERE found_by IN (?, ?) GROUP BY source_id, url ORDER BY last DESC",
                [FoundBy.SEED, FoundBy.RELATED]):
            listed = pages.setdefault(row["source_id"], [])
            if len(listed) < _LISTED:
                listed.append(row)
        return pages

    async def index(self, request: Request) -> Response:
        store = Store.open(self.home.db_path)
        try:
            sections = []
            every = self._pages(store)
            for source in store.sources():
                pages = every.get(source.id, [])
                head = f"<h2>{escape(source.name or source.url)}</h2><p>{_link(source.url)}"
                if not pages:
                    sections.append(head + " · never captured</p>")
                    continue
                items = "".join(
                    f"<li>{_link(p['url'])} · {p['n']} capture(s), latest "
                    f"<a href='/web/{digits14(parse_stored(p['last']))}/"
                    f"{escape(quoted(p['url']))}'>{iso_seconds(parse_stored(p['last']))}</a>"
                    "</li>" for p in pages)
                sections.append(f"{head}</p><ul>{items}</ul>")
        finally:
            store.close()
        body = "".join(sections) or "<p>No sources yet: <code>vigil add URL</code></p>"
        return HTMLResponse(page("vigil archive", body))

    async def captures(self, request: Request) -> Response:
        found = self.memento.captures(target_url(request, 2))
        url = found[0].url
        rows = []
        for c in reversed(found):
            kind = "revisit" if c.revisit else (c.content_type or "").split(";")[0]
            rows.append(
                f"<tr><td><a href='/web/{digits14(c.moment)}/{escape(quoted(url))}'>"
                f"{iso_seconds(c.moment)}</a></td><td>{c.status}</td><td>{escape(kind)}</td>"
                f"<td><code>{escape(c.digest[:23])}…</code></td></tr>")
        body = (f"<p>{escape(url)}: {len(found)} capture(s), newest first · "
                f"<a href='/timemap/json/{escape(quoted(url))}'>TimeMap (JSON)</a> · "
                f"<a href='/timemap/link/{escape(quoted(url))}'>TimeMap (link)</a></p>"
                "<table><tr><th>captured</th><th>HTTP</th><th>type</th><th>payload</th></tr>"
                + "".join(rows) + "</table>")
        return HTMLResponse(page("Captures", body))
