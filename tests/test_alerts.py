"""Alerts reach a real SMTP server and a real webhook, exactly once, and the feed lists them."""

from __future__ import annotations

import json
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from conftest import Vigil, edited_seed, free_port
from crawler.demo.replica import RELATED, SEED_PATH
from crawler.demo.siteserver import Resource, SiteServer


@dataclass
class Mailbox:
    messages: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content.decode("utf-8", "replace"))
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, str]]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.3", port=free_port("127.0.0.3"))
    controller.start()
    url = (f"mailto://127.0.0.3:{controller.port}?from=vigil@example.org"
           "&to=desk@example.org&mode=insecure")
    yield box, url
    controller.stop()


class Webhook(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.4", 0), _HookHandler)
        self.posts: list[dict[str, Any]] = []
        self.statuses: list[int] = []  # statuses to answer with, then 200

    @property
    def url(self) -> str:
        return f"json://127.0.0.4:{self.server_address[1]}/hook"


class _HookHandler(BaseHTTPRequestHandler):
    server: Webhook

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        if status == 200:
            self.server.posts.append(json.loads(body))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    server = Webhook()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def configure(vigil: Vigil, channels: str) -> None:
    vigil.run("init")
    config = vigil.home / "vigil.toml"
    config.write_text(config.read_text() + "\n" + channels)


def take_down(news: SiteServer) -> None:
    news.routes[RELATED[0]] = Resource(b"<h1>Not Found</h1>", status=404)


def test_an_event_is_emailed_and_posted_once_and_a_second_run_sends_nothing(
        vigil: Vigil, news: SiteServer, mailbox: tuple[Mailbox, str], webhook: Webhook) -> None:
    box, mail_url = mailbox
    configure(vigil, f'[[alerts]]\nname = "desk"\nurl = "{mail_url}"\n\n'
                     f'[[alerts]]\nname = "hook"\nurl = "{webhook.url}"\n')
    vigil.run("add", news.url(SEED_PATH), "--name", "herald")
    assert vigil.crawl()["alerts_sent"] == 0
    take_down(news)
    summary = vigil.crawl()
    assert [e["kind"] for e in summary["events"]] == ["removed"]
    assert summary["alerts_sent"] == 2 and summary["alerts_failed"] == 0
    assert len(box.messages) == 1 and len(webhook.posts) == 1
    message = webhook.posts[0]["message"]
    assert news.url(RELATED[0]) in message and "Removed: 404 Not Found" in message
    assert f"history {news.url(RELATED[0])}" in message
    assert "Removed: 404 Not Found" in box.messages[0]
    assert news.url(RELATED[0]) in box.messages[0]

    third = vigil.crawl()
    assert third["alerts_sent"] == 0
    assert len(box.messages) == 1 and len(webhook.posts) == 1


def test_an_edit_alert_quotes_the_change_and_names_the_diff_command(
        vigil: Vigil, news: SiteServer, outside: SiteServer, webhook: Webhook) -> None:
    configure(vigil, f'[[alerts]]\nurl = "{webhook.url}"\n')
    vigil.run("add", news.url(SEED_PATH))
    vigil.crawl()
    news.routes[SEED_PATH] = Resource(lambda: edited_seed(outside.base), gzip=True)
    vigil.crawl()
    [post] = webhook.posts
    assert "removed “denied" in post["message"] and "added “confirmed" in post["message"]
    assert f"diff {news.url(SEED_PATH)}" in post["message"]


def test_a_failed_delivery_is_retried_by_the_next_run_and_never_duplicated(
        vigil: Vigil, news: SiteServer, webhook: Webhook) -> None:
    configure(vigil, f'[[alerts]]\nname = "hook"\nurl = "{webhook.url}"\n')
    vigil.run("add", news.url(SEED_PATH))
    vigil.crawl()
    take_down(news)
    webhook.statuses = [500, 500, 500]  # apprise does not retry within a run by default
    failed = vigil.crawl()
    assert failed["alerts_failed"] == 1 and webhook.posts == []
    webhook.statuses = []
    retried = vigil.crawl()
    assert retried["alerts_sent"] == 1 and len(webhook.posts) == 1
    assert vigil.crawl()["alerts_sent"] == 0 and len(webhook.posts) == 1


def test_channels_only_get_the_sources_and_kinds_routed_to_them(
        vigil: Vigil, news: SiteServer, webhook: Webhook, mailbox: tuple[Mailbox, str]) -> None:
    box, mail_url = mailbox
    configure(vigil, f'[[alerts]]\nurl = "{webhook.url}"\nsources = ["someone-else"]\n\n'
                     f'[[alerts]]\nurl = "{mail_url}"\nkinds = ["dead_link"]\n')
    vigil.run("add", news.url(SEED_PATH), "--name", "herald")
    vigil.crawl()
    take_down(news)
    assert vigil.crawl()["events"]
    assert webhook.posts == [] and box.messages == []


def test_a_bad_channel_is_a_usage_error_before_any_crawl(vigil: Vigil, news: SiteServer) -> None:
    configure(vigil, '[[alerts]]\nurl = "json://127.0.0.4:1/x"\nkinds = ["edit"]\n')
    vigil.run("add", news.url(SEED_PATH))
    result = vigil.run("crawl", ok=False)
    assert result.returncode == 2 and b"unknown kind" in result.stderr
    assert news.requests == []


def test_the_atom_feed_lists_the_events(vigil: Vigil, news: SiteServer) -> None:
    vigil.run("add", news.url(SEED_PATH))
    vigil.crawl()
    take_down(news)
    vigil.crawl()
    feed = ET.parse(vigil.home / "feed.atom").getroot()
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = feed.findall("a:entry", ns)
    assert len(entries) == 1
    assert entries[0].find("a:link", ns).get("href") == news.url(RELATED[0])
    assert "404" in entries[0].find("a:summary", ns).text
