"""vigil's own Scrapy signals."""

# Sent by spiders when a request finally fails (DNS, connection, TLS, timeout,
# robots.txt); args: request, failure, spider.
fetch_failed = object()
