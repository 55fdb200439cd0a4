"""Scrapy components that run inside a crawl: settings, archiver, downloads, progress."""
