"""WARC writing, reading and retrieval: a Scrapy-free library."""
