"""Compare two extracts of a page: is the article's own title or text different, and how."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from monitor.extract import Extract


@dataclass(frozen=True)
class ParagraphChange:
    before: str
    after: str
    removed: list[str]  # runs of words taken out
    added: list[str]  # runs of words put in


@dataclass(frozen=True)
class Edit:
    """How an article changed between two captures."""

    similarity: float
    title_before: str
    title_after: str
    paragraphs: list[ParagraphChange] = field(default_factory=list)
    links_removed: list[str] = field(default_factory=list)  # main-content outlinks
    links_added: list[str] = field(default_factory=list)

    @property
    def removed(self) -> list[str]:
        return [run for p in self.paragraphs for run in p.removed]

    @property
    def added(self) -> list[str]:
        return [run for p in self.paragraphs for run in p.added]

    def summary(self, limit: int = 160) -> str:
        """One line quoting the change, as an editor would want it in an alert."""
        parts: list[str] = []
        if self.title_before != self.title_after:
            parts.append(f"title “{self.title_before}” → “{self.title_after}”")
        if self.removed:
            parts.append("removed “" + _clip(" … ".join(self.removed), limit) + "”")
        if self.added:
            parts.append("added “" + _clip(" … ".join(self.added), limit) + "”")
        return "Edited: " + "; ".join(parts or ["text rearranged"]) + \
            f" (similarity {self.similarity:.2f})"

    def details(self) -> dict[str, Any]:
        data = asdict(self)
        data["removed"], data["added"] = self.removed, self.added
        return data


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _common_ends(a: Sequence[str], b: Sequence[str]) -> tuple[int, int, int]:
    """How many items ``a`` and ``b`` share at the start, and where their shared ends
    begin: ``a[start:a_end]`` and ``b[start:b_end]`` are what differs. Diff tools set
    the rest aside first: an edit usually touches one paragraph of dozens (one word of a
    hundred), and difflib would search all of them for the longest match at each level."""
    start, shorter = 0, min(len(a), len(b))
    while start < shorter and a[start] == b[start]:
        start += 1
    a_end, b_end = len(a), len(b)
    while a_end > start and b_end > start and a[a_end - 1] == b[b_end - 1]:
        a_end -= 1
        b_end -= 1
    return start, a_end, b_end


def word_runs(before: str, after: str) -> tuple[list[str], list[str]]:
    """Runs of words removed from ``before`` and added in ``after``."""
    a, b = before.split(), after.split()
    start, a_end, b_end = _common_ends(a, b)
    a, b = a[start:a_end], b[start:b_end]
    removed: list[str] = []
    added: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op in ("replace", "delete"):
            removed.append(" ".join(a[i1:i2]))
        if op in ("replace", "insert"):
            added.append(" ".join(b[j1:j2]))
    return removed, added


def _changed_paragraphs(before: tuple[str, ...],
                        after: tuple[str, ...]) -> Iterator[ParagraphChange]:
    start, before_end, after_end = _common_ends(before, after)
    before, after = before[start:before_end], after[start:after_end]
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        old, new = "\n".join(before[i1:i2]), "\n".join(after[j1:j2])
        removed, added = word_runs(old, new)
        if removed or added:  # a re-wrapped paragraph is not a change
            yield ParagraphChange(before=old, after=new, removed=removed, added=added)


def compare(before: Extract, after: Extract, min_change: float = 0.0) -> Edit | None:
    """The edit between two extracts, or None when the article's words are the same
    (or changed by less than ``min_change``, a fraction of its words).

    Paragraphs are matched first (a few dozen hashable items), then words are diffed only
    inside the paragraphs that changed: a word-level diff of a whole article is quadratic
    and would cost more than capturing it."""
    if before.title == after.title and before.paragraphs == after.paragraphs:
        return None
    changed = list(_changed_paragraphs(before.paragraphs, after.paragraphs))
    removed = sum(len(r.split()) for p in changed for r in p.removed)
    added = sum(len(r.split()) for p in changed for r in p.added)
    if before.title != after.title:
        t_removed, t_added = word_runs(before.title, after.title)
        removed += sum(len(r.split()) for r in t_removed)
        added += sum(len(r.split()) for r in t_added)
    total_a = len(before.title.split()) + before.words
    # Every word after is a word before that was kept or one that was added (the diffs
    # above cover every paragraph that changed): no need to count the whole text again.
    total_b = total_a - removed + added
    # difflib's ratio, 2M/T, with M the words kept.
    kept = max(0, total_a - removed)
    similarity = 2 * kept / (total_a + total_b) if total_a + total_b else 1.0
    if not changed and before.title == after.title:
        return None  # only re-wrapped
    if before.title == after.title and 1.0 - similarity < min_change:
        return None
    return Edit(similarity=round(similarity, 4), title_before=before.title,
                title_after=after.title, paragraphs=changed,
                links_removed=[u for u in before.outlinks if u not in after.outlinks],
                links_added=[u for u in after.outlinks if u not in before.outlinks])


def diff_tokens(before: str, after: str) -> list[tuple[str, str]]:
    """A word diff as (op, words) runs, op one of ``=``, ``-``, ``+``; newlines kept as
    their own ``=`` runs so paragraphs survive rendering."""
    a = [w for line in before.split("\n") for w in (*line.split(), "\n")]
    b = [w for line in after.split("\n") for w in (*line.split(), "\n")]
    runs: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            runs.append(("=", " ".join(a[i1:i2])))
            continue
        if op in ("replace", "delete"):
            runs.append(("-", " ".join(a[i1:i2])))
        if op in ("replace", "insert"):
            runs.append(("+", " ".join(b[j1:j2])))
    return runs
