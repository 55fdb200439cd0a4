"""The HTTP/1.1 download handler: connects only where the destination policy allows, keeps
the server's reason phrase for the WARC, spools a large body to disk."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from io import BytesIO
from typing import IO, Any

from scrapy import Request
from scrapy.core.downloader.handlers.http11 import (
    HTTP11DownloadHandler,
    _BindAddressAgent,
    _ScrapyAgent,
)
from scrapy.crawler import Crawler
from scrapy.http import Headers, Response
from scrapy.resolver import HostResolution
from scrapy.responsetypes import responsetypes
from scrapy.utils._download_handlers import wrap_twisted_exceptions
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IHostnameResolver, IResolutionReceiver
from twisted.python.failure import Failure
from twisted.web.client import _StandardEndpointFactory
from twisted.web.error import SchemeNotSupported
from zope.interface import implementer

from crawler.crawl.destinations import (
    DestinationPolicy,
    literal_address,
    origin,
    refused_message,
)
from spiders import meta
from spiders.failures import DestinationRefused


def response_class(headers: Headers, url: str, body: bytes) -> type[Response]:
    """The class for a response as it came off the wire: plain ``Response`` while its body
    is still content-encoded.

    Scrapy would make a gzipped HTML body a TextResponse. HttpCompressionMiddleware then
    calls ``replace()``, which reads the old response's ``encoding`` first: on compressed
    bytes that falls through to charset detection, several milliseconds per page for
    nothing. The decompression middleware picks the text class once the body is decoded.
    """
    if _encoded(headers):
        return Response
    return responsetypes.from_args(headers=headers, url=url, body=body)


def _encoded(headers: Headers) -> bool:
    coding = b",".join(headers.getlist(b"Content-Encoding")).strip().lower()
    return bool(coding) and coding != b"identity"


def undecoded(response: Response) -> Response:
    """``response`` as a plain Response if its body is still content-encoded."""
    if type(response) is Response or not _encoded(response.headers):
        return response
    return Response(url=response.url, status=response.status, headers=response.headers,
                    body=response.body, flags=response.flags, request=response.request,
                    certificate=response.certificate, ip_address=response.ip_address,
                    protocol=response.protocol)


@implementer(IHostnameResolver)
class _CheckingResolver:
    """A name resolver that hands on only the addresses the destination policy allows and
    notes the others: the endpoint connects to exactly what was checked, so a name that
    resolves to a public address for the check and a private one for the connection (DNS
    rebinding) has no second lookup to slip through."""

    def __init__(self, inner: Any, refusal: Callable[[str], str | None],
                 refused: list[str]) -> None:
        self._inner, self._refusal, self._refused = inner, refusal, refused

    def resolveHostName(self, resolutionReceiver: Any, hostName: str, portNumber: int = 0,
                        addressTypes: Any = None, transportSemantics: str = "TCP") -> Any:
        refusal, refused = self._refusal, self._refused
        if _recently_unresolved(hostName):
            # Scrapy caches only the names that resolve: a host that has no address is
            # asked again for its robots.txt, each URL and each retry, and a lookup that
            # fails can take the resolver's whole timeout (5 s each, seen offline).
            resolution = HostResolution(hostName)
            resolutionReceiver.resolutionBegan(resolution)
            resolutionReceiver.resolutionComplete()
            return resolution
        answered = [False]

        @implementer(IResolutionReceiver)
        class Filter:
            @staticmethod
            def resolutionBegan(resolution: Any) -> None:
                resolutionReceiver.resolutionBegan(resolution)

            @staticmethod
            def addressResolved(address: Any) -> None:
                answered[0] = True
                why = refusal(str(address.host))
                if why is None:
                    resolutionReceiver.addressResolved(address)
                else:
                    refused.append(why)

            @staticmethod
            def resolutionComplete() -> None:
                if not answered[0]:
                    _note_unresolved(hostName)
                resolutionReceiver.resolutionComplete()

        return self._inner.resolveHostName(Filter(), hostName, portNumber, addressTypes,
                                           transportSemantics)


# Names that resolved to no address, and when: not asked again for this long.
UNRESOLVED_SECONDS = 300.0
_UNRESOLVED: dict[str, float] = {}


def _recently_unresolved(host: str) -> bool:
    failed = _UNRESOLVED.get(host)
    return failed is not None and time.monotonic() - failed < UNRESOLVED_SECONDS


def _note_unresolved(host: str) -> None:
    _UNRESOLVED[host] = time.monotonic()


def _addresses_of(host: str) -> Deferred[list[str]]:
    """Every address ``host`` resolves to, by the resolver the crawl's connections use
    (none, without asking, for a name that had none a moment ago: see _CheckingResolver)."""
    from twisted.internet import reactor

    done: Deferred[list[str]] = Deferred()
    found: list[str] = []
    if _recently_unresolved(host):
        done.callback(found)
        return done

    @implementer(IResolutionReceiver)
    class Collect:
        @staticmethod
        def resolutionBegan(resolution: Any) -> None:
            pass

        @staticmethod
        def addressResolved(address: Any) -> None:
            found.append(str(address.host))

        @staticmethod
        def resolutionComplete() -> None:
            if not found:
                _note_unresolved(host)
            done.callback(found)

    reactor.nameResolver.resolveHostName(Collect(), host)
    return done


class _CheckedHostnameEndpoint(HostnameEndpoint):
    """Twisted's HostnameEndpoint, connecting only to addresses the policy allows."""

    def __init__(self, reactor: Any, host: str, port: int,
                 refusal: Callable[[str], str | None], **kwargs: Any) -> None:
        # Set first: Twisted's constructor asks for the resolver already.
        self._refusal = refusal
        self._refused: list[str] = []
        super().__init__(reactor, host, port, **kwargs)

    def _getNameResolverAndMaybeWarn(self, reactor: Any) -> Any:
        inner = super()._getNameResolverAndMaybeWarn(reactor)
        return _CheckingResolver(inner, self._refusal, self._refused)

    def connect(self, protocolFactory: Any) -> Deferred[Any]:
        del self._refused[:]

        def refused(failure: Failure) -> Failure:
            if self._refused and failure.check(DNSLookupError):  # type: ignore[no-untyped-call]
                raise DestinationRefused(refused_message(self._hostText, self._refused,
                                                         resolved=True))
            return failure

        connecting: Deferred[Any] = super().connect(protocolFactory)
        return connecting.addErrback(refused)


class _CheckedEndpointFactory(_StandardEndpointFactory):
    """Twisted's endpoints for http and https, with the host's addresses checked."""

    def __init__(self, standard: Any, refusal: Callable[[str], str | None]) -> None:
        super().__init__(standard._reactor, standard._policyForHTTPS,  # type: ignore[no-untyped-call]
                         standard._connectTimeout, standard._bindAddress)
        self._refusal = refusal

    def endpointForURI(self, uri: Any) -> Any:
        kwargs: dict[str, Any] = {"bindAddress": self._bindAddress}
        if self._connectTimeout is not None:
            kwargs["timeout"] = self._connectTimeout
        host = uri.host.decode("ascii", "backslashreplace")
        endpoint = _CheckedHostnameEndpoint(self._reactor, host, uri.port, self._refusal,
                                            **kwargs)
        if uri.scheme == b"http":
            return endpoint
        if uri.scheme == b"https":
            creator = self._policyForHTTPS.creatorForNetloc(uri.host, uri.port)
            return wrapClientTLS(creator, endpoint)  # type: ignore[arg-type]
        raise SchemeNotSupported(f"unsupported scheme: {uri.scheme!r}")


class _SpoolingBuffer:
    """The body buffer of Scrapy's response reader (a BytesIO there): in memory up to the
    parse limit, then in an unnamed file, whose bytes Scrapy's Response never holds (its
    body is empty; ``meta.SPOOLED`` is the file, which the archiver writes from)."""

    def __init__(self, limit: int, directory: str | None, request_meta: dict[str, Any],
                 expected: int) -> None:
        self._limit, self._directory, self._meta = limit, directory, request_meta
        self._memory: BytesIO | None = BytesIO()
        self._file: IO[bytes] | None = None
        if expected > limit:  # a Content-Length past the limit: to disk from the start
            self._spill()

    def _spill(self) -> None:
        assert self._memory is not None
        self._file = tempfile.TemporaryFile(dir=self._directory)  # noqa: SIM115
        self._file.write(self._memory.getbuffer())
        self._memory = None
        self._meta[meta.SPOOLED] = self._file

    def write(self, data: bytes) -> None:
        if self._memory is not None and self._memory.tell() + len(data) > self._limit:
            self._spill()
        (self._memory or self._file).write(data)  # type: ignore[union-attr]

    def truncate(self, size: int) -> None:
        (self._memory or self._file).truncate(size)  # type: ignore[union-attr]

    def getvalue(self) -> bytes:
        if self._memory is not None:
            return self._memory.getvalue()
        assert self._file is not None
        self._file.flush()
        return b""


class _ReasonKeepingAgent(_ScrapyAgent):
    # The policy's check of a resolved address, None for a trusted destination.
    refusal: Callable[[str], str | None] | None = None
    # Bodies larger than this go to disk as they arrive (CRAWL_PARSE_LIMIT), in this
    # directory (the home: the same disk as the WARCs, never a RAM-backed /tmp).
    parse_limit: int = 0
    spool_directory: str | None = None

    def _get_agent(self, request: Request, timeout: float) -> Any:
        agent = super()._get_agent(request, timeout)
        # Through a proxy the proxy connects: the name's addresses were checked before
        # (download_request, _check_before_proxy).
        if self.refusal is not None and type(agent) is _BindAddressAgent:
            agent._endpointFactory = _CheckedEndpointFactory(agent._endpointFactory,
                                                             self.refusal)
        return agent

    # Scrapy builds its Response without Twisted's `phrase`; stash it in meta,
    # which the archiver reads at response_downloaded.
    def _cb_bodyready(self, txresponse: Any, request: Request) -> Any:
        phrase = getattr(txresponse, "phrase", b"")
        request.meta[meta.REASON] = phrase.decode("latin-1") if isinstance(phrase, bytes) \
            else str(phrase)
        # A redirect or a retry copies the meta of the request before it: what was said of
        # that body (its size, its cut, its file) is not this one's.
        for key in meta.PER_BODY:
            request.meta.pop(key, None)
        if self.parse_limit:
            self._spool_body(txresponse, request)
        return super()._cb_bodyready(txresponse, request)

    def _spool_body(self, txresponse: Any, request: Request) -> None:
        """Give Scrapy's response reader a buffer that spills to disk past the limit."""
        deliver = txresponse.deliverBody
        expected = txresponse.length if isinstance(txresponse.length, int) else -1

        def spooling(reader: Any) -> None:
            reader._bodybuf = _SpoolingBuffer(self.parse_limit, self.spool_directory,
                                              request.meta, expected)
            deliver(reader)

        txresponse.deliverBody = spooling

    def _cb_bodydone(self, result: Any, url: str) -> Response:
        return undecoded(super()._cb_bodydone(result, url))


class ReasonKeepingHTTP11DownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 handler, with an agent that records the reason phrase and
    connects to a URL found on a page only if its address is public (or allowed).

    The operator's sources are trusted, and so is each one's host and port: whatever it
    resolves to, it is what was asked for. Every other URL (links, citations, requisites,
    redirects, robots.txt) is checked on the address it is about to connect to.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._destinations = DestinationPolicy.from_settings(crawler.settings)
        self._trusted: frozenset[tuple[str, int]] | None = None
        self._parse_limit = crawler.settings.getint("CRAWL_PARSE_LIMIT")
        self._spool_directory = crawler.settings.get("VIGIL_HOME") or None

    def _trusted_origins(self) -> frozenset[tuple[str, int]]:
        if self._trusted is None:
            sources = getattr(self._crawler.spider, "sources", None) or []
            self._trusted = frozenset(o for o in (origin(s["url"]) for s in sources) if o)
        return self._trusted

    def _refusal(self, request: Request) -> Callable[[str], str | None] | None:
        """The check the request's connection must pass, None if it is trusted; a URL
        whose host is itself a refused address is refused before anything is sent."""
        where = origin(request.url)
        if where is None or where in self._trusted_origins():
            return None
        literal = literal_address(where[0])
        if literal is not None:
            # An IPv6 host is shown as written; an IPv4 one as the address it means.
            why = self._destinations.refusal(where[0] if ":" in where[0] else str(literal))
            if why is not None:
                raise DestinationRefused(refused_message(where[0], [why], resolved=False))
        return self._destinations.refusal

    async def _check_before_proxy(self, request: Request,
                                  refusal: Callable[[str], str | None]) -> None:
        """Through a proxy (HTTP_PROXY, HTTPS_PROXY), the connection is to the proxy and
        the proxy resolves the name: the name is resolved here first and refused if any of
        its addresses is, as no address can be chosen for the proxy. (A name that answers
        the proxy differently a moment later, rebinding, is beyond what vigil can see.)"""
        host = urlparse_cached(request).hostname or ""
        addresses = await maybe_deferred_to_future(_addresses_of(host))
        if not addresses:
            raise DNSLookupError(host)
        refused = [why for why in map(refusal, addresses) if why is not None]
        if refused:
            raise DestinationRefused(refused_message(host, refused, resolved=True))

    async def download_request(self, request: Request) -> Response:
        refusal = self._refusal(request)
        if refusal is not None and request.meta.get("proxy"):
            with wrap_twisted_exceptions():
                await self._check_before_proxy(request, refusal)
        agent = _ReasonKeepingAgent(
            contextFactory=self._contextFactory,
            bindAddress=self._bind_address,
            pool=self._pool,
            maxsize=self._default_maxsize,
            warnsize=self._default_warnsize,
            fail_on_dataloss=self._fail_on_dataloss,
            crawler=self._crawler,
            tls_verbose_logging=self._tls_verbose_logging,
        )
        agent.refusal = refusal
        agent.parse_limit, agent.spool_directory = self._parse_limit, self._spool_directory
        # A record's WARC-Date is when its capture began (WARC 1.1, 5.4): the response
        # may be archived well after, once its whole body is in.
        request.meta[meta.STARTED] = time.time()
        # Same exception mapping as the parent: timeouts and DNS errors reach the
        # errback as Scrapy's own exception types.
        with wrap_twisted_exceptions():
            response: Response = await maybe_deferred_to_future(agent.download_request(request))
        return response
