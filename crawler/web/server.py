"""`vigil serve`: the web app (Memento, and the pages built on it) under uvicorn, beside pywb.

The app (Starlette under uvicorn) answers from the SQLite index. A memento of a page is a
frame: the archived page itself is replayed by pywb, run as a child process on its own
port over the same WARC files and CDXJ indexes. The different port is a different origin,
so archived scripts cannot reach the app's pages.
"""

from __future__ import annotations

from html import escape

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from archive.index import CaptureNotFound
from crawler.app.home import Home
from crawler.web.memento import Memento
from crawler.web.pages import BadRequest, page
from crawler.web.replay import Replay


async def _bad(request: Request, exc: Exception) -> Response:
    return HTMLResponse(page("Bad request", f"<p>{escape(str(exc))}</p>"), 400)


async def _missing(request: Request, exc: Exception) -> Response:
    return HTMLResponse(page("Not in the archive", f"<p>{escape(str(exc))}</p><p>"
                              "<a href='/'>What the archive holds</a></p>"), 404)


def build_app(home: Home, replay_port: int | None) -> Starlette:
    """Every route of the app, and the errors they share."""
    memento = Memento(home, replay_port)
    return Starlette(routes=memento.routes,
                     exception_handlers={BadRequest: _bad, CaptureNotFound: _missing})


def serve(home: Home, host: str, port: int, replay_port: int | None = None) -> None:
    import uvicorn

    replay = Replay(home, host, replay_port or port + 1)
    started = replay.start()
    app = build_app(home, replay.port if started else None)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        replay.stop()
