"""Per-source budgets of one crawl: pages, bytes, wall time and requisite hops."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from scrapy.settings import BaseSettings

# Request meta: how many requisites deep a URL is (a page's stylesheet is 1, that
# stylesheet's @import 2, its font 3).
HOPS: Final = "vigil_requisite_hops"


class Budget(StrEnum):
    PAGES = "pages"
    BYTES = "bytes"
    TIME = "time"
    HOPS = "requisite-hops"
    LINKS = "links-per-page"


@dataclass(frozen=True)
class BudgetSettings:
    """The CRAWL_SOURCE_MAX_* and CRAWL_MAX_REQUISITE_HOPS settings (0: no limit)."""

    pages: int
    bytes: int
    seconds: float
    hops: int

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> BudgetSettings:
        return cls(pages=settings.getint("CRAWL_SOURCE_MAX_PAGES"),
                   bytes=settings.getint("CRAWL_SOURCE_MAX_BYTES"),
                   seconds=settings.getfloat("CRAWL_SOURCE_MAX_SECONDS"),
                   hops=settings.getint("CRAWL_MAX_REQUISITE_HOPS"))


@dataclass
class _Spent:
    started: float
    pages: int = 0
    bytes: int = 0


@dataclass
class Budgets:
    """What each source has spent; ``admit`` says whether one more request fits."""

    limits: BudgetSettings
    clock: Callable[[], float] = time.monotonic
    _spent: dict[Any, _Spent] = field(default_factory=dict)

    def _of(self, source: Any) -> _Spent:
        spent = self._spent.get(source)
        if spent is None:
            spent = self._spent[source] = _Spent(self.clock())
        return spent

    def spent_bytes(self, source: Any, size: int) -> None:
        self._of(source).bytes += size

    def admit(self, source: Any, hops: int = 0) -> tuple[Budget, str] | None:
        """Count one more URL of ``source`` to be requested, or the budget it would exceed
        (with a message) if it does not fit; a refused URL is not counted. Counted when a
        URL is queued, so what waits is bounded by the page budget too."""
        limits, spent = self.limits, self._of(source)
        if limits.hops and hops > limits.hops:
            return Budget.HOPS, (f"more than {limits.hops} requisites deep "
                                 "(CRAWL_MAX_REQUISITE_HOPS)")
        if limits.pages and spent.pages >= limits.pages:
            return Budget.PAGES, (f"the source's budget of {limits.pages} requests is "
                                  "spent (CRAWL_SOURCE_MAX_PAGES)")
        over = self.check(source)
        if over is None:
            spent.pages += 1
        return over

    def check(self, source: Any) -> tuple[Budget, str] | None:
        """The budget of bytes or time ``source`` has used up, if any: asked again as a
        queued URL's request is made."""
        limits, spent = self.limits, self._of(source)
        if limits.bytes and spent.bytes >= limits.bytes:
            return Budget.BYTES, (f"the source's budget of {limits.bytes} bytes is spent "
                                  "(CRAWL_SOURCE_MAX_BYTES)")
        if limits.seconds and self.clock() - spent.started >= limits.seconds:
            return Budget.TIME, (f"the source's budget of {limits.seconds:g} s is spent "
                                 "(CRAWL_SOURCE_MAX_SECONDS)")
        return None
