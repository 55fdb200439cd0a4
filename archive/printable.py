"""Text from a page or a server made safe to print: no terminal control sequences."""

from __future__ import annotations

import re

# C0 and C1 controls (ESC and CSI start terminal sequences), DEL, and the Unicode format
# characters that reorder or hide text (bidi overrides and isolates, zero-width marks).
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")


def printable(text: str, newlines: bool = True) -> str:
    """``text`` with every terminal escape sequence removed and other control and
    format characters shown as U+FFFD; tabs kept, newlines kept unless ``newlines`` is
    False (then they are spaces)."""
    cleaned = _UNSAFE.sub("\ufffd", _ANSI.sub("", text))
    return cleaned if newlines else cleaned.replace("\n", " ").replace("\r", " ")
