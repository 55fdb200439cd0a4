"""Alerts reach a real SMTP server and a real webhook, exactly once, and the feed lists them."""

from __future__ import annotations

import email
import email.policy
import json
import os
import signal
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from conftest import FAST, Vigil, edited_seed, free_port
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
        self.hang = False  # hold each request until released
        self.arrived = threading.Event()
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"json://127.0.0.4:{self.server_address[1]}/hook"


class _HookHandler(BaseHTTPRequestHandler):
    server: Webhook

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.server.hang:
            self.server.arrived.set()
            self.server.release.wait(timeout=60)
            return
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
    assert f"/web/*/{news.url(RELATED[0])}" in message
    subject, text, _html = parts(box.messages[0])
    assert subject == "[vigil] removed: Inspectors flagged cracks a year earlier"
    assert "Removed: 404 Not Found" in text and news.url(RELATED[0]) in text

    third = vigil.crawl()
    assert third["alerts_sent"] == 0
    assert len(box.messages) == 1 and len(webhook.posts) == 1


def parts(message: str) -> tuple[str, str, str]:
    """The subject, the text part and the HTML part of a message as received."""
    parsed = email.message_from_string(message, policy=email.policy.default)
    text = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert text is not None and html is not None, "a text and an HTML part"
    return str(parsed["Subject"]), text.get_content(), html.get_content()


def test_an_edit_email_quotes_the_paragraph_before_and_after_and_links_its_review_page(
        vigil: Vigil, news: SiteServer, outside: SiteServer, mailbox: tuple[Mailbox, str],
        webhook: Webhook, monkeypatch: pytest.MonkeyPatch) -> None:
    box, mail_url = mailbox
    monkeypatch.setenv("VIGIL_SERVER", "http://desk.example:9000")
    configure(vigil, f'[[alerts]]\nname = "desk"\nurl = "{mail_url}"\n\n'
                     f'[[alerts]]\nname = "hook"\nurl = "{webhook.url}"\n')
    vigil.run("add", news.url(SEED_PATH))
    vigil.crawl()
    news.routes[SEED_PATH] = Resource(lambda: edited_seed(outside.base), gzip=True)
    vigil.crawl()
    [event] = vigil.json("changes")
    link = f"http://desk.example:9000/changes/{event['id']}"
    subject, text, html = parts(box.messages[0])
    assert subject == "[vigil] edited: Residents describe the night the levee gave way"
    assert ">denied</del>" in html and ">confirmed</ins>" in html
    assert ">any neighbourhood</del>" in html and ">two neighbourhoods</ins>" in html
    assert f"href='{link}'" in html or f'href="{link}"' in html
    lines = text.splitlines()
    before = lines.index("Before:")
    assert "denied that any neighbourhood had been overlooked" in lines[before + 1]
    assert lines[before + 2] == "After:"
    assert "confirmed that two neighbourhoods had been overlooked" in lines[before + 3]
    assert any(link in line and "Review" in line for line in lines)
    [post] = webhook.posts
    assert post["event"] == event and post["link"] == link
    assert post["title"] == subject and "Before:" in post["message"]


def test_the_review_link_is_the_serve_url_of_vigil_toml_without_vigil_server(
        vigil: Vigil, news: SiteServer, webhook: Webhook,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIGIL_SERVER", raising=False)
    configure(vigil, f'[serve]\nurl = "https://archive.example.org/"\n\n'
                     f'[[alerts]]\nurl = "{webhook.url}"\n')
    vigil.run("add", news.url(SEED_PATH))
    vigil.crawl()
    take_down(news)
    vigil.crawl()
    [post] = webhook.posts
    assert post["link"] == f"https://archive.example.org/changes/{post['event']['id']}"


def test_alerts_test_sends_to_each_channel_and_names_the_one_that_failed(
        vigil: Vigil, mailbox: tuple[Mailbox, str], webhook: Webhook) -> None:
    box, mail_url = mailbox
    dead = f"json://127.0.0.4:{free_port('127.0.0.4')}/nobody"
    configure(vigil, f'[[alerts]]\nname = "desk"\nurl = "{mail_url}"\n\n'
                     f'[[alerts]]\nname = "hook"\nurl = "{webhook.url}"\n\n'
                     f'[[alerts]]\nname = "gone"\nurl = "{dead}"\n')
    result = vigil.run("alerts", "test", ok=False)
    assert result.returncode == 1
    assert b"failed: gone" in result.stderr and b"desk" not in result.stderr
    assert len(box.messages) == 1 and len(webhook.posts) == 1
    assert parts(box.messages[0])[0].startswith("[vigil] test:")
    only = vigil.run("alerts", "test", "--channel", "hook")
    assert only.returncode == 0 and len(webhook.posts) == 2 and len(box.messages) == 1
    unknown = vigil.run("alerts", "test", "--channel", "nope", ok=False)
    assert unknown.returncode == 2 and b"no channel named nope" in unknown.stderr


def test_a_delivery_cut_off_mid_send_is_shown_interrupted_and_retried_by_the_next_run(
        vigil: Vigil, news: SiteServer, webhook: Webhook) -> None:
    from crawler.app.store import Store
    from monitor.alerts import DeliveryState, deliveries_of

    configure(vigil, f'[[alerts]]\nname = "hook"\nurl = "{webhook.url}"\n')
    vigil.run("add", news.url(SEED_PATH))
    vigil.crawl()
    take_down(news)
    webhook.hang = True
    crawl = subprocess.Popen([sys.executable, "-m", "crawler.cli", "--home", str(vigil.home),
                              "crawl", "--json", *FAST], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        assert webhook.arrived.wait(timeout=120), "the alert was never sent"
        os.kill(crawl.pid, signal.SIGKILL)  # between the claim and the channel's answer
    finally:
        crawl.wait(timeout=30)
    webhook.hang = False
    webhook.release.set()
    store = Store.open(vigil.home / "vigil.db")
    try:
        [event] = [e["id"] for e in vigil.json("changes")]
        [delivery] = deliveries_of(store.db, event)
    finally:
        store.close()
    assert delivery.state is DeliveryState.INTERRUPTED and delivery.attempts == 1
    assert "interrupted" in (delivery.error or "")
    retried = vigil.crawl()
    assert retried["alerts_sent"] == 1 and len(webhook.posts) == 1
    assert webhook.posts[0]["event"]["id"] == event
    assert vigil.crawl()["alerts_sent"] == 0 and len(webhook.posts) == 1


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


def test_the_atom_feed_lists_the_events(vigil: Vigil, news: SiteServer,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIGIL_SERVER", raising=False)
    vigil.run("add", news.url(SEED_PATH))
    vigil.crawl()
    take_down(news)
    vigil.crawl()
    feed = ET.parse(vigil.home / "feed.atom").getroot()
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = feed.findall("a:entry", ns)
    assert len(entries) == 1
    [event] = vigil.json("changes")
    assert entries[0].find("a:link[@rel='alternate']", ns).get("href") == \
        f"http://127.0.0.1:8080/changes/{event['id']}"
    assert entries[0].find("a:link[@rel='related']", ns).get("href") == news.url(RELATED[0])
    assert entries[0].find("a:title", ns).text == \
        "removed: Inspectors flagged cracks a year earlier"
    assert "404" in entries[0].find("a:summary", ns).text
