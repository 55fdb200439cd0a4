"""Writing from the browser: off unless VIGIL_SERVE_TOKEN is set; signed sessions, CSRF tokens."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response

TOKEN_ENV = "VIGIL_SERVE_TOKEN"
SESSION_COOKIE = "vigil_session"
CSRF_COOKIE = "vigil_csrf"
SESSION_SECONDS = 12 * 3600
FORM_LIMIT = 64 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"


class Refused(PermissionError):
    """A state-changing request the desk will not carry out (403)."""


@dataclass(frozen=True)
class Visit:
    """Who is asking: signed in or not, and the CSRF token their forms carry."""

    writable: bool  # the server has a token: signing in is possible
    signed_in: bool
    csrf: str
    new_nonce: str | None  # a CSRF cookie to set on the response


class Auth:
    def __init__(self, token: str | None) -> None:
        self.token = token or None
        # Sessions and CSRF tokens are signed with a key derived from the token: a new token
        # signs everyone out. Without one, a key of the process's own signs nothing useful.
        seed = self.token.encode() if self.token else secrets.token_bytes(32)
        self._key = hashlib.sha256(b"vigil desk\0" + seed).digest()

    @classmethod
    def from_environment(cls) -> Auth:
        return cls(os.environ.get(TOKEN_ENV))

    def _mac(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

    def visit(self, request: Request) -> Visit:
        nonce = request.cookies.get(CSRF_COOKIE, "")
        new = None
        if len(nonce) < 16:
            nonce = new = secrets.token_urlsafe(24)
        return Visit(writable=self.token is not None, signed_in=self._session_ok(request),
                     csrf=self._mac("csrf:" + nonce), new_nonce=new)

    def _session_ok(self, request: Request) -> bool:
        if self.token is None:
            return False
        issued, _, mac = request.cookies.get(SESSION_COOKIE, "").partition(".")
        if not issued.isdigit() or not hmac.compare_digest(mac, self._mac("session:" + issued)):
            return False
        return 0 <= time.time() - int(issued) < SESSION_SECONDS

    def set_cookies(self, request: Request, response: Response, visit: Visit) -> None:
        if visit.new_nonce:
            response.set_cookie(CSRF_COOKIE, visit.new_nonce, httponly=True, samesite="strict",
                                secure=request.url.scheme == "https")

    async def form(self, request: Request, *, session: bool = True) -> dict[str, str]:
        """The fields of a state-changing request, once it has passed every check: writing
        is on, the request comes from the desk's own pages (Origin, CSRF token) and, unless
        it is the sign-in itself, from a signed-in session."""
        if self.token is None:
            raise Refused(f"writing from the browser is off (start vigil serve with "
                          f"{TOKEN_ENV} set)")
        origin = request.headers.get("origin")
        own = f"{request.url.scheme}://{request.url.netloc}"
        if origin is not None and origin != own:
            raise Refused("the form was sent from another site")
        if request.headers.get("content-type", "").split(";")[0].strip() != FORM_TYPE:
            raise Refused("not a form of the desk")
        body = await request.body()
        if len(body) > FORM_LIMIT:
            raise Refused("the form is too large")
        fields = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"),
                                                keep_blank_values=True).items()}
        nonce = request.cookies.get(CSRF_COOKIE, "")
        if len(nonce) < 16 or not hmac.compare_digest(fields.get("csrf", ""),
                                                      self._mac("csrf:" + nonce)):
            raise Refused("the form's CSRF token is missing or stale: reload the page")
        if session and not self._session_ok(request):
            raise Refused("sign in first")
        return fields

    def check_token(self, given: str) -> bool:
        return self.token is not None and hmac.compare_digest(given.encode(),
                                                              self.token.encode())

    def sign_in(self, request: Request, response: Response) -> None:
        issued = str(int(time.time()))
        response.set_cookie(SESSION_COOKIE, f"{issued}.{self._mac('session:' + issued)}",
                            max_age=SESSION_SECONDS, httponly=True, samesite="lax",
                            secure=request.url.scheme == "https")

    def sign_out(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax")
