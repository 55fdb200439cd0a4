"""pywb's replay behind a guard: run by `vigil serve` with pywb's own Python, as a script.

It imports pywb and the standard library only (pywb lives in its own virtualenv). A 304
revisit is replayed with the content it revisits. The guard answers 400 to a Host header
that is not allowed (DNS rebinding), and 404 to every path but a memento and pywb's
static files: the CDX API, TimeMaps, collection listings and search would let an
archived script list and read every other archived page.
"""

from gevent.monkey import patch_all

patch_all()

import argparse  # noqa: E402 -- after gevent's patching, as pywb's own CLI does
import ipaddress  # noqa: E402
import re  # noqa: E402
from collections.abc import Callable, Iterable  # noqa: E402
from typing import Any  # noqa: E402

from pywb.apps.frontendapp import FrontEndApp  # noqa: E402
from pywb.utils.geventserver import GeventServer, RequestURIWSGIHandler  # noqa: E402


def serve_not_modified_from_original() -> None:
    """A 304 revisit replays as the content it revisits, at its own time.

    pywb answers a revisit with the revisit's own HTTP headers, and skips loading the
    payload of any 3xx: a 304 replays as an empty page. For an index line of a revisit
    whose status is 304, load the original as pywb loads an identical-payload revisit's
    (WARC-Refers-To-Target-URI, WARC-Refers-To-Date and the digest) and answer with its
    headers; the record's WARC-Date stays the revisit's, so Memento-Datetime does too.
    """
    from pywb.warcserver.resource.resolvingloader import ResolvingLoader

    standard = ResolvingLoader.load_headers_and_payload

    def load(self, cdx, failed_files, cdx_loader):  # type: ignore[no-untyped-def]
        if cdx.get("mime") != "warc/revisit" or cdx.get("status") != "304" or \
                cdx.get("filename", "-") == "-":
            return standard(self, cdx, failed_files, cdx_loader)
        headers = self._resolve_path_load(cdx, False, failed_files)
        payload = self._load_different_url_payload(cdx, headers, failed_files, cdx_loader)
        if payload is not headers and payload.http_headers:
            headers.http_headers = payload.http_headers
        return headers, payload

    ResolvingLoader.load_headers_and_payload = load


# /web/<timestamp><modifier>/<url> and pywb's static files; nothing else.
_REPLAY_PATH = re.compile(r"^/(web/\d{1,14}([a-z]{2}_)?/.|static/)")
_HOST = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[^:]+)(:\d+)?$")


WSGI = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _refuse(start_response: Callable[..., Any], status: str) -> list[bytes]:
    body = status.encode("ascii") + b"\n"
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body))),
                            ("Cache-Control", "no-store")])
    return [body]


def _loopback(name: str) -> bool:
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def guarded(app: WSGI, allowed: set[str]) -> WSGI:
    def handle(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        match = _HOST.match(environ.get("HTTP_HOST", ""))
        name = match.group(1).lower().strip("[]") if match else ""
        if not name or (name not in allowed and not _loopback(name)):
            return _refuse(start_response, "400 Bad Request")
        if not _REPLAY_PATH.match(environ.get("PATH_INFO", "")):
            return _refuse(start_response, "404 Not Found")
        return app(environ, start_response)
    return handle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True)
    parser.add_argument("--bind", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--allow-host", action="append", default=[])
    args = parser.parse_args()
    allowed = {h.lower().strip("[]") for h in args.allow_host}
    serve_not_modified_from_original()
    app = guarded(FrontEndApp(config_file=args.config), allowed)
    GeventServer(app, port=args.port, hostname=args.bind, handler_class=RequestURIWSGIHandler,
                 direct=True)


if __name__ == "__main__":
    main()
