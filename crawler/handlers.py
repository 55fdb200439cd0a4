"""An HTTP/1.1 download handler that keeps the server's reason phrase for the WARC."""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler, _ScrapyAgent
from scrapy.http import Response
from scrapy.utils._download_handlers import wrap_twisted_exceptions
from scrapy.utils.defer import maybe_deferred_to_future

REASON_META = "vigil_http_reason"


class _ReasonKeepingAgent(_ScrapyAgent):
    # Scrapy builds its Response without Twisted's `phrase`; stash it in meta,
    # which the archiver reads at response_downloaded.
    def _cb_bodyready(self, txresponse: Any, request: Request) -> Any:
        phrase = getattr(txresponse, "phrase", b"")
        request.meta[REASON_META] = phrase.decode("latin-1") if isinstance(phrase, bytes) \
            else str(phrase)
        return super()._cb_bodyready(txresponse, request)


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
