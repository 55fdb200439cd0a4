"""A second baseline: Scrapy's stock CrawlSpider over the same pages, writing nothing.

What a home-made Scrapy archiver usually starts from: one Rule(LinkExtractor(), follow=True),
every link queued and left to the dupe filter. It fetches pages only (no requisites).
Run: scrapy runspider bench/crawl_spider.py -a start=URL
"""

from __future__ import annotations

import sys
from typing import Any
from urllib.parse import urlsplit

from scrapy.http import Response
from scrapy.linkextractors import LinkExtractor
from scrapy.spiders import CrawlSpider, Rule


class StockCrawlSpider(CrawlSpider):
    name = "stock"
    custom_settings = {"ROBOTSTXT_OBEY": False, "LOG_LEVEL": "WARNING",
                       "TELNETCONSOLE_ENABLED": False}
    rules = (Rule(LinkExtractor(), callback="parse_item", follow=True),)

    def __init__(self, start: str = "", **kwargs: Any) -> None:
        self.start_urls = [start]
        self.allowed_domains = [urlsplit(start).hostname or ""]
        self.pages = 0
        super().__init__(**kwargs)

    def parse_start_url(self, response: Response, **kwargs: Any) -> None:
        self.pages += 1

    def parse_item(self, response: Response) -> None:
        self.pages += 1

    def closed(self, reason: str) -> None:
        print(f"pages={self.pages}", file=sys.stderr)
