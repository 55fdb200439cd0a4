"""The app's HTML: one page layout, and the error every bad request gets."""

from __future__ import annotations

from html import escape


class BadRequest(ValueError):
    """A malformed part of a request: 400."""


def page(title: str, body: str, framed: bool = False) -> str:
    style = ("body{margin:0;font:14px sans-serif}header{padding:6px 10px;background:#223;"
             "color:#eee}header a{color:#9cf}iframe{border:0;width:100%;height:calc(100vh - "
             "32px)}" if framed else "body{font:15px sans-serif;margin:2em}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"<style>{style}</style></head><body>{body if framed else f'<h1>{escape(title)}'}"
            f"{'' if framed else '</h1>' + body}</body></html>")
