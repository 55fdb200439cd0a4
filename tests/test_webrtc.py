"""A rendered page's WebRTC reaches no address: no STUN packet, no candidate of the machine's."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from recaptured import CHROMIUM, needs_chromium

from crawler.crawl.browser import chromium_args
from crawler.crawl.chromium import launch_args

pytestmark = needs_chromium

# What a page's script can do: gather ICE candidates against a STUN server it names. The
# promise settles when gathering completes (a null candidate), whatever the policy.
GATHER = """async (stun) => {
  const pc = new RTCPeerConnection({iceServers: [{urls: stun}]});
  const found = [];
  const complete = new Promise(resolve => {
    pc.onicecandidate = e => e.candidate ? found.push(e.candidate.candidate) : resolve();
  });
  pc.createDataChannel("leak");
  await pc.setLocalDescription(await pc.createOffer());
  await complete;
  pc.close();
  return found;
}"""


@pytest.fixture
def stun() -> Iterator[socket.socket]:
    """A UDP socket on loopback standing for a STUN server: it only counts packets."""
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.5", 0))
    server.setblocking(False)
    yield server
    server.close()


def _packets(server: socket.socket) -> int:
    count = 0
    while True:
        try:
            server.recvfrom(2048)
        except BlockingIOError:
            return count
        count += 1


def _gather(args: list[str], server: socket.socket) -> tuple[list[str], int]:
    """(ICE candidates a page saw, packets the STUN server got) in Chromium with ``args``."""
    from playwright.sync_api import sync_playwright

    host, port = server.getsockname()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        try:
            page = browser.new_page()
            page.goto("about:blank")
            candidates: list[str] = page.evaluate(GATHER, f"stun:{host}:{port}")
        finally:
            browser.close()
    return candidates, _packets(server)


def test_the_crawl_s_chromium_sends_no_stun_packet_and_gathers_no_candidate(
        stun: socket.socket) -> None:
    candidates, packets = _gather(chromium_args(0), stun)
    assert (candidates, packets) == ([], 0)


def test_without_the_webrtc_policy_the_same_page_reaches_the_stun_server(
        stun: socket.socket) -> None:
    # The measure works: Chromium's own policy gathers host candidates and sends STUN.
    candidates, packets = _gather(launch_args(0), stun)
    assert candidates and packets > 0
