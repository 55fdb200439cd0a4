"""After a crawl: run the monitor, send alerts, refresh the Atom feed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from crawler.app.home import Home
from crawler.app.store import Store
from monitor.alerts import DeliveryReport, Notifier, channels_from_config
from monitor.detect import Monitor
from monitor.events import Event, EventLog
from monitor.feed import write_feed

FEED_SIZE = 200


@dataclass(frozen=True)
class MonitorResult:
    events: list[Event]
    alerts: DeliveryReport


def notifier_for(home: Home, store: Store) -> Notifier:
    """Read the alert channels (a bad entry fails before any crawling) and baseline them."""
    notifier = Notifier(store.db, channels_from_config(home.config()),
                        diff_command=f"vigil --home {home.root} diff")
    notifier.register()
    return notifier


def after_crawl(home: Home, store: Store, crawl_id: int, notifier: Notifier) -> MonitorResult:
    events = Monitor(store.db, home.warc_dir).run(crawl_id)
    report = notifier.deliver()
    home_id = hashlib.sha256(str(home.root.resolve()).encode()).hexdigest()[:16]
    write_feed(home.root / "feed.atom", EventLog(store.db).query(limit=FEED_SIZE,
                                                                 newest_first=True),
               title=f"vigil: changes in {home.root.resolve().name}",
               feed_id=f"urn:vigil:{home_id}")
    return MonitorResult(events=events, alerts=report)
