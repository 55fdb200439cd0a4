"""URIs of the records vigil makes beside a page it rendered: its screenshot, its rendered DOM."""

from __future__ import annotations

from typing import Final

SCREENSHOT_PREFIX: Final = "urn:screenshot:"
DOM_PREFIX: Final = "urn:rendered-dom:"
# Failure rows of a page the browser could not render (its fetch itself succeeded).
RENDER_FAILURE_PREFIX: Final = "urn:render:"


def screenshot_uri(url: str) -> str:
    """The target URI of a page's full-page screenshot (a ``resource`` record, PNG)."""
    return SCREENSHOT_PREFIX + url


def dom_uri(url: str) -> str:
    """The target URI of a page's DOM as the browser rendered it (``resource``, HTML)."""
    return DOM_PREFIX + url
