"""Application services: the home, the store, the crawl runner, after-crawl work and maintenance."""
