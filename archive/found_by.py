"""How a captured URL was found (the captures' and failures' ``found_by``), defined once."""

from __future__ import annotations

from enum import StrEnum


class FoundBy(StrEnum):
    SEED = "seed"  # the source page itself
    RELATED = "related"  # a related article on the source's site
    CITED = "cited"  # a page on another site that the article links to
    REQUISITE = "requisite"  # an image, stylesheet, script, font or media a page needs
    ROBOTS = "robots"  # a host's robots.txt
    PROBE = "probe"  # the made-up URL that shows how a site answers for a missing page
    OTHER = "other"  # fetched by none of vigil's rules (a redirect's target, say)


# Pages that are articles of the source: they have titles, and are cited by them.
ARTICLE_PAGES = (FoundBy.SEED, FoundBy.RELATED)
# Pages the monitor compares between crawls.
MONITORED_PAGES = (FoundBy.SEED, FoundBy.RELATED, FoundBy.CITED)
