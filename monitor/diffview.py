"""A word diff of an article shown by paragraph: what changed marked, what did not folded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from monitor.compare import diff_tokens

KEPT, REMOVED, ADDED = "=", "-", "+"
NEWLINE = "\n"


@dataclass(frozen=True)
class Paragraph:
    """One paragraph of the diff as (op, words) runs."""

    runs: tuple[tuple[str, str], ...]

    @property
    def changed(self) -> bool:
        return any(op != KEPT for op, _words in self.runs)

    def side(self, op: str) -> str:
        """The paragraph as it read before (``-``) or after (``+``)."""
        return " ".join(w for o, w in self.runs if o in (KEPT, op))

    def html(self) -> str:
        return " ".join(_mark(op, words) for op, words in self.runs)

    def html_side(self, op: str) -> str:
        """One side, with that side's own changes marked (``<del>`` before, ``<ins>`` after)."""
        return " ".join(_mark(o, w) for o, w in self.runs if o in (KEPT, op))

    def text(self) -> str:
        """git's word-diff markers: ``[-removed-]`` and ``{+added+}``."""
        return " ".join(w if op == KEPT else f"[-{w}-]" if op == REMOVED else f"{{+{w}+}}"
                        for op, w in self.runs)


def _mark(op: str, words: str) -> str:
    if op == REMOVED:
        return f"<del>{escape(words)}</del>"
    if op == ADDED:
        return f"<ins>{escape(words)}</ins>"
    return escape(words)


def paragraph_diff(before: Sequence[str], after: Sequence[str]) -> list[Paragraph]:
    """The word diff of two paragraph lists (monitor.compare.diff_tokens), cut back into
    paragraphs: a paragraph ends wherever either side's text breaks."""
    runs = diff_tokens("\n".join(before), "\n".join(after))
    paragraphs: list[Paragraph] = []
    current: list[tuple[str, str]] = []
    for op, words in runs:
        for word in words.split(" "):
            if word == NEWLINE:
                if current:
                    paragraphs.append(Paragraph(_merge(current)))
                current = []
            elif word:
                current.append((op, word))
    if current:
        paragraphs.append(Paragraph(_merge(current)))
    return paragraphs


def _merge(words: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Neighbouring words of one op as one run."""
    merged: list[tuple[str, list[str]]] = []
    for op, word in words:
        if merged and merged[-1][0] == op:
            merged[-1][1].append(word)
        else:
            merged.append((op, [word]))
    return tuple((op, " ".join(ws)) for op, ws in merged)


def title_diff(before: str, after: str) -> Paragraph | None:
    """The headline's change, or None when it kept its words."""
    if before.split() == after.split():
        return None
    found = paragraph_diff([before], [after])
    return Paragraph(tuple(run for p in found for run in p.runs))


def folded(paragraphs: list[Paragraph]) -> list[Paragraph | list[Paragraph]]:
    """Changed paragraphs as themselves, each stretch of unchanged ones as one list."""
    out: list[Paragraph | list[Paragraph]] = []
    for paragraph in paragraphs:
        if paragraph.changed:
            out.append(paragraph)
        elif out and isinstance(out[-1], list):
            out[-1].append(paragraph)
        else:
            out.append([paragraph])
    return out
