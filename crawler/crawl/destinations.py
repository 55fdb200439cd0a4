"""Where a crawl may connect: a source's own host and port, else public addresses only."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from scrapy.settings import BaseSettings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Prefixes that carry an IPv4 address inside an IPv6 one (NAT64's well-known prefix):
# judged by the IPv4 address they carry.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class InvalidNetwork(ValueError):
    """An ``allow_networks`` entry that is not a CIDR network."""


def parse_networks(entries: Iterable[str]) -> tuple[IPNetwork, ...]:
    """``["127.0.0.0/8", "fd00::/8"]`` as networks; a host address is a /32 (/128)."""
    networks = []
    for entry in entries:
        text = str(entry).strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError as exc:
            raise InvalidNetwork(f"allow_networks: {text!r} is not a network "
                                 "(write it as a CIDR, e.g. 127.0.0.0/8)") from exc
    return tuple(networks)


def origin(url: str) -> tuple[str, int] | None:
    """A URL's host (lower case, IPv6 without brackets) and port, the default port of its
    scheme if it names none; None for a URL without a host or with a bad port."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").rstrip(".")
    if not host:
        return None
    return host, port if port is not None else _DEFAULT_PORTS.get(parts.scheme.lower(), 0)


def embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address stands for (IPv4-mapped, NAT64, 6to4, Teredo's
    client), else the address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address.sixtofour is not None:
            return address.sixtofour
        if address.teredo is not None:
            return address.teredo[1]
    return address


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast: not loopback, private, link-local, CGNAT (100.64/10),
    multicast, reserved, unspecified or documentation space, in either family."""
    address = embedded_ipv4(address)
    return address.is_global and not (
        address.is_multicast or address.is_private or address.is_reserved
        or address.is_loopback or address.is_link_local or address.is_unspecified)


@dataclass(frozen=True)
class DestinationPolicy:
    """CRAWL_ALLOW_NETWORKS, parsed once: networks a discovered URL may reach besides the
    public Internet (``[crawl] allow_networks`` in vigil.toml)."""

    allow_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> DestinationPolicy:
        return cls(parse_networks(settings.getlist("CRAWL_ALLOW_NETWORKS")))

    def allows(self, address: str) -> bool:
        """Whether a crawl may connect to an IP address (as resolved: a scope suffix such
        as ``%eth0`` is ignored) that is not a trusted source's."""
        try:
            parsed = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        if is_public(parsed):
            return True
        plain = embedded_ipv4(parsed)
        return any(candidate.version == network.version and candidate in network
                   for network in self.allow_networks for candidate in (plain, parsed))

    def refusal(self, address: str) -> str | None:
        """None if ``address`` may be connected to, else why not."""
        return None if self.allows(address) else f"{address}: not a public address"


def refused_message(host: str, refusals: list[str], resolved: bool) -> str:
    """The failure's message: what the host named and why none of it may be reached."""
    lead = "" if not resolved and refusals[0].startswith(f"{host}:") else \
        f"{host} resolves to " if resolved else f"{host} is "
    return f"{lead}{'; '.join(refusals)} {_HINT}"


_HINT = ("(a URL found on a page may reach only public addresses; allow a network with "
         "-s CRAWL_ALLOW_NETWORKS=<cidr> or [crawl] allow_networks)")


def literal_address(host: str) -> IPAddress | None:
    """The address a URL's host names without DNS: dotted, integer (``2130706433``), hex
    or octal (``0x7f.1``) IPv4 as inet_aton reads it, or IPv6; None for a name."""
    text = host.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    parts = text.rstrip(".").split(".")
    if not 1 <= len(parts) <= 4:
        return None
    try:
        numbers = [int(p, 0) if not (len(p) > 1 and p[0] == "0" and p[1] not in "xX")
                   else int(p, 8) for p in parts]
    except ValueError:
        return None
    *front, last = numbers
    if any(not 0 <= n <= 255 for n in front) or not 0 <= last < 1 << 8 * (5 - len(parts)):
        return None
    value = last
    for index, number in enumerate(front):
        value |= number << 8 * (3 - index)
    return ipaddress.IPv4Address(value)
