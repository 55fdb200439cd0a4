"""The ``vigil_*`` keys vigil keeps in a Scrapy request's meta, defined once for every component."""

from __future__ import annotations

from typing import Final

# Set by the spider on every request it makes.
SOURCE: Final = "vigil_source"  # the source's id
FOUND_BY: Final = "vigil_found_by"  # an archive.found_by.FoundBy value
DEPTH: Final = "vigil_depth"  # hops of related articles from the source
MAX_DEPTH: Final = "vigil_max_depth"  # the source's --depth
SITES: Final = "vigil_sites"  # the site keys counted as the source's own
KNOWN: Final = "vigil_known"  # pages the source linked in its last crawl (rechecks)
REFERRER: Final = "vigil_referrer"  # the page the URL was found on
RECHECK: Final = "vigil_recheck"  # fetched again though no longer linked

# Set by the crawl's components while a request is downloaded.
STARTED: Final = "vigil_started"  # when the HTTP client was handed it (Unix time): WARC-Date
RECEIVED: Final = "vigil_received"  # body bytes received so far
TRUNCATED: Final = "vigil_truncated"  # why the body was cut: "length" or "disconnect"
SPOOLED: Final = "vigil_spooled"  # the file a body past CRAWL_PARSE_LIMIT went to
REASON: Final = "vigil_http_reason"  # the status line's reason phrase, as the server sent it
CONDITIONAL: Final = "vigil_conditional"  # capture id whose validators were sent
LAST_PAYLOAD: Final = "vigil_last_payload"  # (url, last 2xx capture) the revisit compares with

# Scrapy's own meta key: the URLs a redirected request came through, the first requested.
REDIRECT_URLS: Final = "redirect_urls"

# Not a meta key but a response flag: the archived page handed on in place of a 304 answer
# to a conditional request (crawler/crawl/conditional.py) carries it.
NOT_MODIFIED: Final = "not_modified"

# What is said of one response's body: reset when the next response's headers arrive (a
# redirect or a retry copies the meta of the request before it).
PER_BODY: Final = (RECEIVED, TRUNCATED, SPOOLED)
