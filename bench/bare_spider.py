"""The baseline: a plain Scrapy spider over the same pages that writes nothing.

It drops links it has seen before queuing them, extracts them once with lxml, and fetches
pages and their requisites, as vigil does; it archives, indexes and compares nothing.
Run: scrapy runspider bench/bare_spider.py -a start=URL
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.html
import scrapy
from scrapy.http import Response, TextResponse


class BareSpider(scrapy.Spider):
    name = "bare"
    custom_settings = {"ROBOTSTXT_OBEY": False, "LOG_LEVEL": "WARNING",
                       "TELNETCONSOLE_ENABLED": False}

    def __init__(self, start: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start_url = start
        self.host = urlsplit(start).netloc
        self.seen: set[str] = {start}
        self.pages = 0

    async def start(self) -> Any:
        yield scrapy.Request(self.start_url, callback=self.parse)

    def parse(self, response: Response) -> Iterator[scrapy.Request]:
        if not isinstance(response, TextResponse) or b"html" not in (
                response.headers.get(b"Content-Type") or b""):
            return
        self.pages += 1
        root = lxml.html.document_fromstring(response.body)
        for href in root.xpath("//a/@href | //img/@src | //link/@href"):
            url = urljoin(response.url, str(href)).split("#")[0]
            if url in self.seen or urlsplit(url).netloc != self.host:
                continue
            self.seen.add(url)
            yield scrapy.Request(url, callback=self.parse, dont_filter=True)

    def closed(self, reason: str) -> None:
        print(f"pages={self.pages}", file=sys.stderr)
