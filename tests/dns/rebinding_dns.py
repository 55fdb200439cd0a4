"""A DNS resolver for crawls under test: every ``.test`` name answers the "internal" 127.0.0.3.

What a rebinding attacker's name server answers once a page has been read: the crawl must
judge the address it is about to connect to, not a name or an earlier answer. Loaded by
``-s TWISTED_DNS_RESOLVER=rebinding_dns.InternalNames`` with this directory on PYTHONPATH.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from twisted.internet import defer, threads
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IResolverSimple
from zope.interface import implementer

INTERNAL = "127.0.0.3"


@implementer(IResolverSimple)
class InternalNames:
    def __init__(self, reactor: Any) -> None:
        self.reactor = reactor

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> InternalNames:
        return cls(reactor)

    def install_on_reactor(self) -> None:
        self.reactor.installResolver(self)

    def getHostByName(self, name: str, timeout: Any = ()) -> Any:
        if name.rstrip(".").endswith(".test"):
            return defer.succeed(INTERNAL)
        return threads.deferToThread(socket.gethostbyname, name)


@implementer(IResolverSimple)
class CountedFailures(InternalNames):
    """Every ``.invalid`` name fails (as RFC 6761 says it must), each lookup of one noted
    in the file ``VIGIL_TEST_DNS_LOG`` names: how often the crawl asked."""

    def getHostByName(self, name: str, timeout: Any = ()) -> Any:
        if name.rstrip(".").endswith(".invalid"):
            with open(os.environ["VIGIL_TEST_DNS_LOG"], "a", encoding="utf-8") as log:
                log.write(name + "\n")
            return defer.fail(DNSLookupError(name))
        return super().getHostByName(name, timeout)
