"""Deliver events to apprise channels, once each: claim atomically, record, retry failures."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from archive.timeutil import iso_seconds, parse_stored, utcnow, warc_date
from monitor.events import KINDS, Event, EventLog

log = logging.getLogger(__name__)


class ChannelConfigError(ValueError):
    """An [[alerts]] entry in the config that cannot be used."""


@dataclass(frozen=True)
class Channel:
    name: str
    url: str
    sources: tuple[str, ...] = ()  # source names or URLs; empty: every source
    kinds: tuple[str, ...] = ()  # event kinds; empty: every kind

    def wants(self, event: Event, source: Mapping[str, Any] | None) -> bool:
        if self.kinds and event.kind not in self.kinds:
            return False
        if not self.sources:
            return True
        return source is not None and (source["name"] in self.sources
                                       or source["url"] in self.sources)


def channels_from_config(config: Mapping[str, Any]) -> list[Channel]:
    channels = []
    for number, entry in enumerate(config.get("alerts", []), start=1):
        if not isinstance(entry, Mapping) or not entry.get("url"):
            raise ChannelConfigError(f"[[alerts]] entry {number} needs a url")
        kinds = tuple(entry.get("kinds", ()))
        unknown = [k for k in kinds if k not in KINDS]
        if unknown:
            raise ChannelConfigError(f"[[alerts]] entry {number}: unknown kind(s) {unknown}; "
                                     f"use {', '.join(KINDS)}")
        import apprise  # here: a twentieth of a second at every start, for homes with channels

        probe = apprise.Apprise()
        if not probe.add(str(entry["url"])):
            raise ChannelConfigError(f"[[alerts]] entry {number}: apprise cannot use its url")
        channels.append(Channel(name=str(entry.get("name") or f"channel-{number}"),
                                url=str(entry["url"]), sources=tuple(entry.get("sources", ())),
                                kinds=kinds))
    return channels


def render(event: Event, source: Mapping[str, Any] | None, diff_command: str) -> tuple[str, str]:
    """Title and body: the page, what happened, the quoted change, how to see the diff."""
    title = f"[vigil] {event.kind.replace('_', ' ')}: {event.url}"
    lines = [event.summary, "", f"Page: {event.url}"]
    if event.link:
        lines.append(f"Cited link: {event.link}")
    if source is not None:
        lines.append(f"Source: {source['name']} ({source['url']})")
    when = [f"{label} {iso_seconds(parse_stored(value))}" for label, value in
            (("before:", event.before), ("after:", event.after)) if value]
    if when:
        lines.append("Captures: " + ", ".join(when))
    lines.append(f"Detected: {iso_seconds(parse_stored(event.detected_at))}")
    if event.kind == "edited":
        lines += ["", f"See the change: {diff_command} {event.url}"]
    else:
        lines += ["", f"See the history: {diff_command.rsplit(' ', 1)[0]} history {event.url}"]
    return title, "\n".join(lines)


@dataclass(frozen=True)
class DeliveryReport:
    sent: int
    failed: int


class Notifier:
    """Sends each event once per channel. A channel sees events from when it first appeared,
    so adding one does not replay the archive's whole history."""

    def __init__(self, db: Database, channels: list[Channel], diff_command: str) -> None:
        self.db = db
        self.channels = channels
        self.diff_command = diff_command

    def register(self) -> None:
        """Record a baseline for new channels; call before the monitor raises new events."""
        latest = self.db.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]
        for channel in self.channels:
            self.db.execute("INSERT OR IGNORE INTO channels (name, url, baseline, added_at) "
                            "VALUES (?, ?, ?, ?)",
                            [channel.name, channel.url, latest, warc_date(utcnow())])
        self.db.conn.commit()

    def _claim(self, event_id: int, channel: str) -> bool:
        """Take the (event, channel) pair for this process; False if anyone else has it."""
        with self.db.conn:
            self.db.execute("INSERT OR IGNORE INTO deliveries (event_id, channel, attempts) "
                            "VALUES (?, ?, 0)", [event_id, channel])
            cursor = self.db.execute(
                "UPDATE deliveries SET claimed_at = ? WHERE event_id = ? AND channel = ? "
                "AND delivered_at IS NULL AND claimed_at IS NULL",
                [warc_date(utcnow()), event_id, channel])
            return cursor.rowcount == 1

    def _finish(self, event_id: int, channel: str, error: str | None) -> None:
        with self.db.conn:
            if error is None:
                self.db.execute("UPDATE deliveries SET delivered_at = ?, error = NULL, "
                                "attempts = attempts + 1 WHERE event_id = ? AND channel = ?",
                                [warc_date(utcnow()), event_id, channel])
            else:  # release the claim: the next run retries
                self.db.execute("UPDATE deliveries SET claimed_at = NULL, error = ?, "
                                "attempts = attempts + 1 WHERE event_id = ? AND channel = ?",
                                [error, event_id, channel])

    def deliver(self) -> DeliveryReport:
        """Send every undelivered event to the channels that want it."""
        self.register()
        sources = {r["id"]: r for r in self.db.table("sources").rows}
        baselines = {r["name"]: r["baseline"] for r in self.db.table("channels").rows}
        log_ = EventLog(self.db)
        sent = failed = 0
        for channel in self.channels:
            pending = [e for e in log_.query() if e.id is not None
                       and e.id > baselines.get(channel.name, 0)
                       and not self._delivered(e.id, channel.name)]
            for event in pending:
                assert event.id is not None
                source = sources.get(event.source_id or -1)
                if not channel.wants(event, source) or not self._claim(event.id, channel.name):
                    continue
                title, body = render(event, source, self.diff_command)
                import apprise

                try:
                    notifier = apprise.Apprise()
                    notifier.add(channel.url)
                    ok = bool(notifier.notify(title=title, body=body))
                    error = None if ok else "apprise reported a failed notification"
                except Exception as exc:  # noqa: BLE001 -- one channel's fault must not stop the others
                    error = f"{type(exc).__name__}: {exc}"
                self._finish(event.id, channel.name, error)
                if error is None:
                    sent += 1
                else:
                    failed += 1
                    log.warning("alert %s to %s failed (will retry): %s", event.id,
                                channel.name, error)
        return DeliveryReport(sent=sent, failed=failed)

    def _delivered(self, event_id: int, channel: str) -> bool:
        row = self.db.execute("SELECT delivered_at FROM deliveries WHERE event_id = ? AND "
                              "channel = ?", [event_id, channel]).fetchone()
        return row is not None and row[0] is not None
