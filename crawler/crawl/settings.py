"""Scrapy settings for vigil crawls: polite by default, faithful capture always."""

from scrapy.settings.default_settings import EXTENSIONS_BASE as _SCRAPY_EXTENSIONS

from crawler import __version__

BOT_NAME = "vigil"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

# Identify ourselves; crawler/runner.py fills in the contact URL from the config.
VIGIL_CONTACT_URL = "https://github.com/vigil-archive/vigil"
USER_AGENT = f"vigil/{__version__} (+{VIGIL_CONTACT_URL})"

# -- politeness (switch off on loopback with -s, e.g. for benchmarks) -----------
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
# Scrapy's default start delay is 5 s, which makes a small crawl look stuck.
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

# -- faithful capture ----------------------------------------------------------
# 4xx/5xx are evidence: archive them and hand them to callbacks.
HTTPERROR_ALLOW_ALL = True
# The archiver truncates at ARCHIVE_MAX_PAYLOAD instead of Scrapy aborting.
DOWNLOAD_MAXSIZE = 0
DOWNLOAD_WARNSIZE = 0
# A body the server cut short is archived and marked, not thrown away.
DOWNLOAD_FAIL_ON_DATALOSS = False
DOWNLOAD_TIMEOUT = 60
RETRY_TIMES = 1
REDIRECT_MAX_TIMES = 10
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en",
    # No zstd and no br: the archive's readers cannot all read them yet (warcio 1.8's
    # reader fails on every br body with Google's brotli, webrecorder/warcio#73; zstd has
    # no replay support). A server that sends br anyway is archived as it sent it
    # (warcio check reads those files in the project's environment: archive/warcio_hook.py).
    "Accept-Encoding": "gzip, deflate",
}
DOWNLOAD_HANDLERS = {
    "http": "crawler.crawl.download.ReasonKeepingHTTP11DownloadHandler",
    "https": "crawler.crawl.download.ReasonKeepingHTTP11DownloadHandler",
    # The web only: no link, redirect or refresh on a page can make the crawl read a local
    # file, an S3 bucket with the machine's credentials, or an FTP server.
    "file": None,
    "s3": None,
    "ftp": None,
    "data": None,
}
DOWNLOADER_MIDDLEWARES = {
    # After decompression (590) in process_request, before it in process_response: a 304
    # is replaced by the archived, still-encoded original.
    "crawler.crawl.conditional.ConditionalRequests": 600,
    # Scrapy's own, with its size guard at CRAWL_DECODE_CAP rather than DOWNLOAD_MAXSIZE.
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "crawler.crawl.decoding.CappedDecompression": 590,
    # Scrapy's own, with browsers' limits on cookies.
    "scrapy.downloadermiddlewares.cookies.CookiesMiddleware": None,
    "crawler.crawl.cookies.BoundedCookies": 700,
}
# Every request a callback yields goes through each spider middleware's async generator.
# The crawl depth is vigil's own (vigil_depth), and meta is never copied from a response:
# Scrapy's depth statistics and its meta-copy warning would only cost each request two
# more layers.
SPIDER_MIDDLEWARES = {
    "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
    "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware": None,
    # No Referer to other sites, whatever a page's Referrer-Policy asks.
    "scrapy.spidermiddlewares.referer.RefererMiddleware": None,
    "crawler.crawl.referrer.SameSiteReferer": 700,
}
# The spider yields requests, never items: Scrapy would otherwise start 100 asyncio
# tasks per response to process its output in parallel (a tenth of a crawl's CPU).
CONCURRENT_ITEMS = 1
EXTENSIONS = {
    "crawler.crawl.archiver.WarcArchiver": 100,
    "crawler.crawl.progress.Progress": 500,
    "scrapy.extensions.telnet.TelnetConsole": None,
}
# Scrapy 2.19's remote control runs any Python code posted to a local HTTP port and leaves a
# job file with its token in ~/.local/state/scrapy: a crawler of evidence opens no such door.
# It is left out of the base list below (Scrapy imports every extension a list names, even
# one set to None, and this one imports aiohttp: ~0.1 s a crawl); the switch stays off too,
# should a list name it again.
REMOTE_CONTROL_ENABLED = False
EXTENSIONS_BASE = {path: order for path, order in _SCRAPY_EXTENSIONS.items()
                   if path != "scrapy.extensions.remote_control.RemoteControl"}

# -- what a page cannot make the crawl do ------------------------------------------
# Networks a URL found on a page (link, citation, requisite, redirect, robots.txt) may
# reach besides public addresses: CIDRs, e.g. ["127.0.0.0/8"] ([crawl] allow_networks in
# vigil.toml, or -s CRAWL_ALLOW_NETWORKS=127.0.0.0/8,10.0.0.0/8). A source's own host
# and port are always allowed (crawler/crawl/destinations.py).
CRAWL_ALLOW_NETWORKS: list[str] = []
# Bytes a body may decode to before the spider stops reading it; it stays archived as
# received (crawler/crawl/decoding.py).
CRAWL_DECODE_CAP = 200 * 1024 * 1024  # archive.payload.DEFAULT_DECODE_CAP
# Bytes of a body (as received) held in memory and read by the spider. A larger body goes
# to disk as it arrives and is archived from there, never held whole; a page or stylesheet
# that large is not read for links (a decode-cap failure row says so, beside its capture).
CRAWL_PARSE_LIMIT = 8 * 1024 * 1024  # monitor.detect.READ_LIMIT, the monitor's twin
# Budgets of one source in one crawl (spiders/budgets.py), far above any news site's:
# past one, the source's further URLs are not fetched, and a failure row says so.
CRAWL_SOURCE_MAX_PAGES = 100_000
CRAWL_SOURCE_MAX_BYTES = 20_000_000_000
CRAWL_SOURCE_MAX_SECONDS = 12 * 3600
# Requisites of requisites: page -> stylesheet -> @import -> font is 3.
CRAWL_MAX_REQUISITE_HOPS = 8
# Links of each kind (citations and related, requisites) read from one page; a news
# front page has a few hundred.
CRAWL_MAX_LINKS_PER_PAGE = 10_000

# -- archive (crawler/archiving.py) ---------------------------------------------
ARCHIVE_MAX_FILE_SIZE = 1_000_000_000
ARCHIVE_MAX_PAYLOAD = 100_000_000
# Captures are indexed in one transaction per this many records, after an fsync.
ARCHIVE_INDEX_BATCH = 50
# Seconds an index write waits for another writer's lock; past it the crawl fails.
ARCHIVE_DB_TIMEOUT = 30.0
# gzip level of each record (1-9). Bodies sent compressed are stored as sent; this is the
# speed/size trade for the rest: 1-3 use ISA-L (fast), 4-9 zlib (6: ~20% smaller, 10x slower).
ARCHIVE_GZIP_LEVEL = 3
ARCHIVE_OPERATOR = ""
ARCHIVE_DESCRIPTION = ""

# -- recapture (crawler/conditional.py, crawler/archiving.py) -----------------------
# An unchanged payload is written as a revisit record pointing at the last capture.
RECAPTURE_DEDUP = True
# Send If-None-Match / If-Modified-Since; a 304 is archived as a revisit.
RECAPTURE_CONDITIONAL = True

# -- progress (crawler/progress.py) ---------------------------------------------
PROGRESS_ENABLED = False
PROGRESS_INTERVAL = 2.0

LOG_LEVEL = "WARNING"

# -- browser (crawler/crawl/browser.py, spiders/rendering.py) --------------------------
# The component that renders pages in Chromium; empty: no page is ever rendered.
BROWSER_RENDERER = "crawler.crawl.browser.Browser"
# Debian's chromium (`make chromium`), driven by Playwright.
BROWSER_EXECUTABLE = "/usr/bin/chromium"
# Seconds one page may take to load and settle (at the crawl's politeness: a page of 40
# requests to one host takes 40 s at DOWNLOAD_DELAY=1); then what it shows is captured.
BROWSER_PAGE_SECONDS = 60.0
# Of those, seconds to wait for the network to go idle (after load, after scrolling).
BROWSER_SETTLE_SECONDS = 8.0
# Megabytes of JavaScript heap a page may use (V8's old space); past it the tab crashes.
BROWSER_MAX_MEMORY_MB = 512
# Pages rendered at once, in one browser per crawl process.
BROWSER_MAX_TABS = 2
# Screens scrolled down, at most, so lazy images and infinite lists load.
BROWSER_MAX_SCROLLS = 20
