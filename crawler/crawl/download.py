"""An HTTP/1.1 download handler that keeps the server's reason phrase for the WARC."""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler, _ScrapyAgent
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes
from scrapy.utils._download_handlers import wrap_twisted_exceptions
from scrapy.utils.defer import maybe_deferred_to_future

from spiders import meta


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


class _ReasonKeepingAgent(_ScrapyAgent):
    # Scrapy builds its Response without Twisted's `phrase`; stash it in meta,
    # which the archiver reads at response_downloaded.
    def _cb_bodyready(self, txresponse: Any, request: Request) -> Any:
        phrase = getattr(txresponse, "phrase", b"")
        request.meta[meta.REASON] = phrase.decode("latin-1") if isinstance(phrase, bytes) \
            else str(phrase)
        return super()._cb_bodyready(txresponse, request)

    def _cb_bodydone(self, result: Any, url: str) -> Response:
        return undecoded(super()._cb_bodydone(result, url))


class ReasonKeepingHTTP11DownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 handler, with an agent that records the reason phrase."""

    async def download_request(self, request: Request) -> Response:
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
        # Same exception mapping as the parent: timeouts and DNS errors reach the
        # errback as Scrapy's own exception types.
        with wrap_twisted_exceptions():
            response: Response = await maybe_deferred_to_future(agent.download_request(request))
        return response
