"""`vigil serve`: the web app (Memento, and the pages built on it) under uvicorn, beside pywb.

The app (Starlette under uvicorn) answers from the SQLite index. A memento of a page is a
frame: the archived page itself is replayed by pywb, run as a child process on its own
port over the same WARC files. The different port is a different origin, so archived
scripts cannot reach the app's pages. Both answer only Host headers naming this server.
"""

from __future__ import annotations

import signal
from collections.abc import Iterable
from html import escape
from types import FrameType

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from archive.index import CaptureNotFound
from crawler.app.home import Home
from crawler.web.browse import Browse
from crawler.web.desk import desk_routes
from crawler.web.guard import AllowedHosts, Guard
from crawler.web.memento import Memento
from crawler.web.pages import BadRequest, page
from crawler.web.replay import Replay, ReplayIndex

_UNSPECIFIED = ("0.0.0.0", "::", "[::]", "")


async def _bad(request: Request, exc: Exception) -> Response:
    return HTMLResponse(page("Bad request", f"<p>{escape(str(exc))}</p>"), 400)


async def _missing(request: Request, exc: Exception) -> Response:
    return HTMLResponse(page("Not in the archive", f"<p>{escape(str(exc))}</p><p>"
                              "<a href='/'>What the archive holds</a></p>"), 404)


def public_base(host: str, port: int) -> str:
    """The app's own URL in Link headers: from how it was started, never a Host header."""
    name = "127.0.0.1" if host in _UNSPECIFIED else host
    if ":" in name and not name.startswith("["):
        name = f"[{name}]"
    return f"http://{name}:{port}"


def build_app(home: Home, replay_port: int | None, *, host: str = "127.0.0.1",
              port: int = 8080, allowed_hosts: Iterable[str] = (),
              replay_index: ReplayIndex | None = None) -> Guard:
    """Every route of the app, the errors they share, and the guard around them all."""
    base = public_base(host, port)
    replay = None if replay_port is None else public_base(host, replay_port)
    memento = Memento(home, base, replay, replay_index)
    routes = [*desk_routes(home, base), *Browse(home, memento).routes, *memento.routes]
    app = Starlette(routes=routes,
                    exception_handlers={BadRequest: _bad, CaptureNotFound: _missing})
    return Guard(app, AllowedHosts(host, allowed_hosts))


def configured_hosts(home: Home) -> list[str]:
    """``[serve] allowed_hosts`` in vigil.toml."""
    listed = home.config().get("serve", {}).get("allowed_hosts", [])
    return [str(h) for h in listed] if isinstance(listed, list) else [str(listed)]


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # uvicorn restores the handler it found and raises the signal again once it has shut
    # down: exiting here (not by the default action) lets the replay child be stopped.
    raise SystemExit(128 + signum)


def serve(home: Home, host: str, port: int, replay_port: int | None = None,
          allowed_hosts: Iterable[str] = ()) -> None:
    import uvicorn

    allowed = AllowedHosts(host, [*configured_hosts(home), *allowed_hosts])
    replay = Replay(home, host, replay_port or port + 1, tuple(allowed.names))
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    started = replay.start()
    try:
        app = build_app(home, replay.port if started else None, host=host, port=port,
                        allowed_hosts=allowed.names, replay_index=replay.index)
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        replay.stop()
