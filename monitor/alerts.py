"""Deliver events to apprise channels, once each: the attempt recorded before the send, so a
send a crash interrupted is retried (or shown failed), never silently lost."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from archive.schema import ensure
from archive.timeutil import parse_stored, utcnow, warc_date
from monitor import schema
from monitor.alert_message import Message, compose
from monitor.change_view import ChangeReader
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


MAX_ATTEMPTS = 5
# A claim older than this is taken as abandoned even when its process cannot be checked
# (another machine): a send takes seconds (apprise's timeouts are 4 s).
CLAIM_LEASE = timedelta(minutes=10)
# Written with the claim, before the send: a delivery still showing it was interrupted.
INTERRUPTED = "interrupted: the process sending it stopped before the channel answered"


def create_schema(db: Database) -> None:
    """The ``deliveries`` and ``channels`` tables; idempotent (for a database that was not
    opened through a home's migration)."""
    ensure(db, schema.DELIVERIES)
    ensure(db, schema.CHANNELS)


def _me() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _abandoned(claimed_by: str | None, claimed_at: str) -> bool:
    """Whether a claim's process is gone: dead here, or silent past the lease."""
    if parse_stored(claimed_at) < utcnow() - CLAIM_LEASE:
        return True
    host, _, pid = (claimed_by or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


class DeliveryState(StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"  # will be retried by the next run
    GAVE_UP = "gave up"  # failed MAX_ATTEMPTS times
    SENDING = "sending"
    INTERRUPTED = "interrupted"  # will be retried by the next run


@dataclass(frozen=True)
class Delivery:
    channel: str
    state: DeliveryState
    attempts: int
    at: str | None  # when it was delivered, or last claimed
    error: str | None


def deliveries_of(db: Database, event_id: int) -> list[Delivery]:
    create_schema(db)
    found = []
    for channel, claimed_at, delivered_at, attempts, error, claimed_by in db.execute(
            "SELECT channel, claimed_at, delivered_at, attempts, error, claimed_by "
            "FROM deliveries WHERE event_id = ? ORDER BY channel", [event_id]):
        if delivered_at:
            state = DeliveryState.DELIVERED
        elif claimed_at:
            state = DeliveryState.INTERRUPTED if _abandoned(claimed_by, claimed_at) \
                else DeliveryState.SENDING
        elif (attempts or 0) >= MAX_ATTEMPTS:
            state = DeliveryState.GAVE_UP
        else:
            state = DeliveryState.FAILED
        found.append(Delivery(channel, state, attempts or 0, delivered_at or claimed_at,
                              error if state is not DeliveryState.DELIVERED else None))
    return found


def send(url: str, message: Message) -> str | None:
    """Send one message to one apprise URL; the error, or None when it went."""
    import apprise  # here: a twentieth of a second at every start, for homes with channels

    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        return "apprise cannot use the channel's url"
    preferred = plugin.notify_format
    first = preferred[0] if isinstance(preferred, tuple | list) else preferred
    html = first == apprise.NotifyFormat.HTML
    extras = getattr(plugin, "payload_extras", None)
    if isinstance(extras, dict):  # json:// and its kin: the event itself, and its link
        extras.update(message.data)
    notifier = apprise.Apprise()
    notifier.add(plugin)
    try:
        ok = notifier.notify(title=message.title, body=message.html if html else message.text,
                             body_format=apprise.NotifyFormat.HTML if html
                             else apprise.NotifyFormat.TEXT)
    except Exception as exc:  # noqa: BLE001 -- one channel's fault must not stop the others
        return f"{type(exc).__name__}: {exc}"
    return None if ok else "apprise reported a failed notification"


@dataclass(frozen=True)
class DeliveryReport:
    sent: int
    failed: int


class Notifier:
    """Sends each event once per channel. A channel sees events from when it first appeared,
    so adding one does not replay the archive's whole history."""

    def __init__(self, db: Database, channels: list[Channel], warc_dir: Path,
                 server: str) -> None:
        self.db = db
        self.channels = channels
        self.warc_dir = warc_dir
        self.server = server
        create_schema(db)

    def register(self) -> None:
        """Record a baseline for new channels; call before the monitor raises new events."""
        latest = self.db.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]
        for channel in self.channels:
            self.db.execute("INSERT OR IGNORE INTO channels (name, url_sha256, baseline, "
                            "added_at) VALUES (?, ?, ?, ?)",
                            [channel.name, schema.url_sha256(channel.url), latest,
                             warc_date(utcnow())])
        self.db.conn.commit()

    def _claim(self, event_id: int, channel: str) -> bool:
        """Take the (event, channel) pair for this process, counting the attempt and
        marking it interrupted until the send finishes; False if it is delivered, given
        up, or being sent by a live process."""
        with self.db.conn:
            self.db.execute("INSERT OR IGNORE INTO deliveries (event_id, channel, attempts) "
                            "VALUES (?, ?, 0)", [event_id, channel])
            delivered_at, claimed_at, claimed_by, attempts = self.db.execute(
                "SELECT delivered_at, claimed_at, claimed_by, attempts FROM deliveries "
                "WHERE event_id = ? AND channel = ?", [event_id, channel]).fetchone()
            if delivered_at or (attempts or 0) >= MAX_ATTEMPTS:
                return False
            if claimed_at and not _abandoned(claimed_by, claimed_at):
                return False
            # Compare-and-set on the claim seen: two processes cannot both take it.
            cursor = self.db.execute(
                "UPDATE deliveries SET claimed_at = ?, claimed_by = ?, error = ?, "
                "attempts = attempts + 1 WHERE event_id = ? AND channel = ? "
                "AND delivered_at IS NULL AND claimed_at IS ?",
                [warc_date(utcnow()), _me(), INTERRUPTED, event_id, channel, claimed_at])
            return cursor.rowcount == 1

    def _finish(self, event_id: int, channel: str, error: str | None) -> None:
        with self.db.conn:
            if error is None:
                self.db.execute("UPDATE deliveries SET delivered_at = ?, error = NULL "
                                "WHERE event_id = ? AND channel = ?",
                                [warc_date(utcnow()), event_id, channel])
            else:  # release the claim: the next run retries
                self.db.execute("UPDATE deliveries SET claimed_at = NULL, claimed_by = NULL, "
                                "error = ? WHERE event_id = ? AND channel = ?",
                                [error, event_id, channel])

    def _pending(self, channel: Channel, baseline: int) -> list[Event]:
        ids = [r[0] for r in self.db.execute(
            "SELECT e.id FROM events e LEFT JOIN deliveries d ON d.event_id = e.id AND "
            "d.channel = ? WHERE e.id > ? AND d.delivered_at IS NULL ORDER BY e.id",
            [channel.name, baseline])]
        if not ids:
            return []
        wanted = set(ids)
        return [e for e in EventLog(self.db).query() if e.id in wanted]

    def deliver(self) -> DeliveryReport:
        """Send every undelivered event to the channels that want it."""
        self.register()
        sources = {r["id"]: r for r in self.db.table("sources").rows}
        baselines = {r["name"]: r["baseline"] for r in self.db.table("channels").rows}
        reader = ChangeReader(self.db, self.warc_dir)
        messages: dict[int, Message] = {}
        sent = failed = 0
        for channel in self.channels:
            for event in self._pending(channel, baselines.get(channel.name, 0)):
                assert event.id is not None
                source = sources.get(event.source_id or -1)
                if not channel.wants(event, source) or not self._claim(event.id, channel.name):
                    continue
                if event.id not in messages:
                    messages[event.id] = compose(reader.view(event), self.server)
                error = send(channel.url, messages[event.id])
                self._finish(event.id, channel.name, error)
                if error is None:
                    sent += 1
                else:
                    failed += 1
                    log.warning("alert %s to %s failed (will retry): %s", event.id,
                                channel.name, error)
        return DeliveryReport(sent=sent, failed=failed)
