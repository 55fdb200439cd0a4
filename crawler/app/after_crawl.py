"""After a crawl: run the monitor, send alerts, refresh the Atom feed."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from crawler.app.home import Home
from crawler.app.store import Store
from monitor.alert_message import DEFAULT_SERVER
from monitor.alerts import DeliveryReport, Notifier, channels_from_config
from monitor.change_view import ChangeReader
from monitor.detect import Monitor
from monitor.events import Event, EventLog
from monitor.feed import FEED_SIZE, feed_xml, write_feed

SERVER_ENV = "VIGIL_SERVER"
# Headlines read from the WARCs for the feed per run (then cached with the extracts).
FEED_TITLES_READ = 50


@dataclass(frozen=True)
class MonitorResult:
    events: list[Event]
    alerts: DeliveryReport


def server_url(home: Home) -> str:
    """Where `vigil serve` answers, for links in alerts and the feed: $VIGIL_SERVER, else
    ``[serve] url`` in vigil.toml, else the address `vigil serve` listens on by default."""
    configured = os.environ.get(SERVER_ENV) or home.config().get("serve", {}).get("url")
    return str(configured or DEFAULT_SERVER).rstrip("/")


def notifier_for(home: Home, store: Store) -> Notifier:
    """Read the alert channels (a bad entry fails before any crawling) and baseline them."""
    notifier = Notifier(store.db, channels_from_config(home.config()), home.warc_dir,
                        server_url(home))
    notifier.register()
    return notifier


def feed_of(home: Home, store: Store, server: str) -> bytes:
    events = EventLog(store.db).query(limit=FEED_SIZE, newest_first=True)
    home_id = hashlib.sha256(str(home.root.resolve()).encode()).hexdigest()[:16]
    return feed_xml(events, title=f"vigil: changes in {home.root.resolve().name}",
                    feed_id=f"urn:vigil:{home_id}", server=server,
                    titles=ChangeReader(store.db, home.warc_dir).titles(events, FEED_TITLES_READ))


def after_crawl(home: Home, store: Store, crawl_id: int, notifier: Notifier) -> MonitorResult:
    events = Monitor(store.db, home.warc_dir).run(crawl_id)
    report = notifier.deliver()
    write_feed(home.root / "feed.atom", feed_of(home, store, notifier.server))
    return MonitorResult(events=events, alerts=report)
