"""Scrapy spiders that capture sources, their related articles, cited pages and requisites."""
