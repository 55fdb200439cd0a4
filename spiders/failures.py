"""Why a URL was not captured: the reasons a failure row names, and the refusals that carry them."""

from __future__ import annotations

from typing import ClassVar

from scrapy.exceptions import IgnoreRequest

from archive.fetches import FailureReason

# The reasons are the archive's (its failures table holds them): named once, there.
Reason = FailureReason


# What Scrapy 2.19's middlewares say when they drop a request (tests pin them).
ROBOTS_MESSAGE = "Forbidden by robots.txt"
REDIRECT_LIMIT_MESSAGE = "max redirections reached"


class Refused(IgnoreRequest):
    """The crawl decided not to fetch (or not to read) a URL; ``str()`` says why."""

    reason: ClassVar[Reason] = Reason.IGNORED


class DestinationRefused(Refused):
    """The URL's host resolves to an address the destination policy refuses."""

    reason = Reason.DESTINATION_REFUSED


class BudgetExceeded(Refused):
    """The URL's source has used one of its budgets (pages, bytes, time, requisite hops)."""

    reason = Reason.BUDGET


class UrlTooLong(Refused):
    """Longer than URLLENGTH_LIMIT: Scrapy's UrlLengthMiddleware would drop it unseen."""

    reason = Reason.TOO_LONG_URL


class DecodeCapReached(Refused):
    """The body decodes to more than CRAWL_DECODE_CAP: archived as received, not parsed."""

    reason = Reason.DECODE_CAP


def reason_of(error: BaseException) -> str:
    """The ``error`` a failure row records for ``error``."""
    if isinstance(error, Refused):
        return error.reason
    if isinstance(error, IgnoreRequest):
        message = str(error)
        if message.startswith(ROBOTS_MESSAGE):
            return Reason.ROBOTS
        if message.startswith(REDIRECT_LIMIT_MESSAGE):
            return Reason.REDIRECT_LIMIT
        return Reason.IGNORED
    return type(error).__name__
