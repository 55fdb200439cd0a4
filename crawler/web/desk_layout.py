"""The desk's page shell (header, navigation, sign-in state), its CSP, and small HTML helpers."""

from __future__ import annotations

from html import escape

from archive.index import Capture
from archive.timeutil import digits14, parse_stored
from crawler.web.desk_auth import Visit

# Pages of the desk load only their own stylesheet and frame only the app's own mementos
# (which frame pywb's origin in turn); no script runs on them.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; frame-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
NAV = (("/changes", "Changes"), ("/sources", "Sources"), ("/feed.atom", "Feed"))


def shell(title: str, body: str, visit: Visit, current: str = "") -> str:
    nav = "".join(f"<a href='{href}'{' aria-current=page' if href == current else ''}>"
                  f"{label}</a>" for href, label in NAV)
    if visit.signed_in:
        who = (f"<span>Signed in</span><form method='post' action='/signout'>"
               f"<input type='hidden' name='csrf' value='{visit.csrf}'>"
               f"<button type='submit'>Sign out</button></form>")
    elif visit.writable:
        who = "<a href='/signin'>Sign in</a>"
    else:
        who = "<span title='Start vigil serve with VIGIL_SERVE_TOKEN to edit'>Read only</span>"
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{escape(title)} · vigil</title><link rel='stylesheet' href='/desk.css'>"
            "<link rel='alternate' type='application/atom+xml' title='Changes' "
            "href='/feed.atom'></head><body><a class='skip' href='#main'>Skip to content</a>"
            f"<header class='top'><a class='brand' href='/changes'>vigil</a><nav "
            f"aria-label='Desk'>{nav}</nav><div class='who'>{who}</div></header>"
            f"<main id='main'>{body}</main></body></html>")


def when(stored: str | None) -> str:
    """A stored timestamp as a person reads it, machine-readable in <time>."""
    if not stored:
        return "—"
    moment = parse_stored(stored)
    return (f"<time datetime='{moment:%Y-%m-%dT%H:%M:%SZ}'>"
            f"{moment:%Y-%m-%d %H:%M:%S} UTC</time>")


def memento_href(capture: Capture) -> str:
    return f"/web/{digits14(capture.moment)}/{capture.url}"


def timeline_href(url: str) -> str:
    return f"/web/*/{url}"


def link(href: str, text: str) -> str:
    return f"<a href='{escape(href)}'>{escape(text)}</a>"


def kind_badge(kind: str) -> str:
    return f"<span class='badge {escape(kind)}'>{escape(kind.replace('_', ' '))}</span>"


def status_text(status: int) -> str:
    return f"<span class='status s{str(status)[:1]}'>{status}</span>"
