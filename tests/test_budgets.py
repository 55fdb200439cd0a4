"""Per-source budgets, cookie limits and the Referer rule, without a crawl."""

from __future__ import annotations

from http.cookiejar import Cookie

from scrapy import Request
from scrapy.http import Response
from scrapy.http.cookies import CookieJar

from crawler.crawl.cookies import MAX_HEADER_BYTES, MAX_PER_DOMAIN, BoundedCookies
from spiders.budgets import Budget, Budgets, BudgetSettings
from spiders.failures import (
    REDIRECT_LIMIT_MESSAGE,
    ROBOTS_MESSAGE,
    DestinationRefused,
    Reason,
    reason_of,
)
from spiders.frontier import referer_for


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_source_past_its_page_budget_is_refused_and_others_go_on() -> None:
    budgets = Budgets(BudgetSettings(pages=2, bytes=0, seconds=0, hops=0))
    assert budgets.admit(1) is None
    assert budgets.admit(1) is None
    refused = budgets.admit(1)
    assert refused is not None and refused[0] == Budget.PAGES
    assert budgets.admit(2) is None


def test_bytes_and_time_budgets_count_from_the_source_s_first_request() -> None:
    clock = Clock()
    budgets = Budgets(BudgetSettings(pages=0, bytes=100, seconds=60, hops=0), clock=clock)
    assert budgets.admit("a") is None
    budgets.spent_bytes("a", 100)
    over = budgets.admit("a")
    assert over is not None and over[0] == Budget.BYTES
    assert budgets.admit("b") is None
    clock.now = 61
    over = budgets.admit("b")
    assert over is not None and over[0] == Budget.TIME


def test_requisites_deeper_than_the_hop_limit_are_refused() -> None:
    budgets = Budgets(BudgetSettings(pages=0, bytes=0, seconds=0, hops=3))
    assert budgets.admit(1, hops=3) is None
    over = budgets.admit(1, hops=4)
    assert over is not None and over[0] == Budget.HOPS


def test_scrapy_s_refusals_are_told_apart() -> None:
    from scrapy.exceptions import IgnoreRequest
    assert reason_of(IgnoreRequest(ROBOTS_MESSAGE)) == Reason.ROBOTS
    assert reason_of(IgnoreRequest(REDIRECT_LIMIT_MESSAGE)) == Reason.REDIRECT_LIMIT
    assert reason_of(IgnoreRequest("offsite")) == Reason.IGNORED
    assert reason_of(DestinationRefused("x")) == Reason.DESTINATION_REFUSED
    assert reason_of(TimeoutError()) == "TimeoutError"


def test_scrapy_s_messages_are_the_ones_reason_of_reads() -> None:
    import inspect

    from scrapy.downloadermiddlewares import redirect, robotstxt
    assert f'"{ROBOTS_MESSAGE}"' in inspect.getsource(robotstxt)
    assert f'"{REDIRECT_LIMIT_MESSAGE}"' in inspect.getsource(redirect)


def test_the_referer_stays_within_its_site() -> None:
    page = "https://www.news.test/a"
    assert referer_for(page, "https://news.test/b") == page
    assert referer_for(page, "https://other.test/b") is None
    assert referer_for(page, "http://www.news.test/b") is None  # no downgrade
    assert referer_for("http://news.test:8080/a", "http://news.test/b") is None
    assert referer_for(page, "http://news.test:99999/b") is None


def _cookie(name: str, value: str) -> Cookie:
    return Cookie(0, name, value, None, False, "site.test", False, False, "/", True,
                  False, None, False, None, None, {})


def test_cookies_are_bounded_per_domain_and_in_the_header() -> None:
    middleware = BoundedCookies()
    request = Request("http://site.test/")
    jar: CookieJar = middleware.jars[None]
    middleware._process_cookies([_cookie(f"c{i}", "x" * 96) for i in range(1000)]
                                + [_cookie("huge", "y" * 5000)], jar=jar, request=request)
    names = [c.name for c in jar]
    assert len(names) == MAX_PER_DOMAIN
    assert "huge" not in names and "c999" in names and "c0" not in names
    middleware.process_request(request)
    assert 0 < len(request.headers[b"Cookie"]) <= MAX_HEADER_BYTES
    # Scrapy's own response handling still runs.
    middleware.process_response(request, Response("http://site.test/", headers={
        "Set-Cookie": "fresh=1; Path=/"}))
    assert "fresh" in [c.name for c in jar]
