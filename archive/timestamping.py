"""RFC 3161 trusted timestamps: a TSA's signed word that some bytes existed at a time."""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

from cryptography import x509
from rfc3161_client import (
    HashAlgorithm,
    PKIStatus,
    TimestampRequestBuilder,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

TOKEN_SUFFIX = ".tsr"  # the TSA's whole TimeStampResp, DER, as `openssl ts -verify` reads it
QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
_MAX_REPLY = 1 << 20


class TimestampError(RuntimeError):
    """The TSA gave no valid timestamp, or a token does not check."""


def request_timestamp(url: str, data: bytes, timeout: float = 30.0) -> bytes:
    """Ask the TSA at ``url`` to timestamp the SHA-256 of ``data``; the reply, checked
    to be granted, for these bytes and this request's nonce."""
    request = TimestampRequestBuilder().data(data).hash_algorithm(HashAlgorithm.SHA256) \
        .nonce(nonce=True).cert_request(cert_request=True).build()
    http = urllib.request.Request(url, data=request.as_bytes(), method="POST",
                                  headers={"Content-Type": QUERY_TYPE, "Accept": REPLY_TYPE})
    try:
        with urllib.request.urlopen(http, timeout=timeout) as reply:
            body: bytes = reply.read(_MAX_REPLY + 1)
    except (urllib.error.URLError, OSError) as exc:
        raise TimestampError(f"the TSA at {url} did not answer: {exc}") from exc
    if len(body) > _MAX_REPLY:
        raise TimestampError(f"the TSA at {url} answered more than {_MAX_REPLY} bytes")
    try:
        response = decode_timestamp_response(body)
    except ValueError as exc:
        raise TimestampError(f"the TSA at {url} answered no timestamp: {exc}") from exc
    if PKIStatus(response.status) not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        raise TimestampError(f"the TSA at {url} refused: status {response.status}")
    if response.tst_info.nonce != request.nonce or \
            response.tst_info.message_imprint.message != request.message_imprint.message:
        raise TimestampError(f"the TSA at {url} answered another request")
    return body


def load_certificates(path: Path) -> list[x509.Certificate]:
    """The TSA's certificate chain (PEM, one or more), each trusted as a root."""
    try:
        return x509.load_pem_x509_certificates(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise TimestampError(f"cannot read the TSA certificate {path}: {exc}") from exc


def token_time(token: bytes) -> datetime:
    """The time a token attests, without checking it."""
    try:
        return decode_timestamp_response(token).tst_info.gen_time
    except ValueError as exc:
        raise TimestampError(f"not a timestamp token: {exc}") from exc


def verify_timestamp(token: bytes, data: bytes, roots: list[x509.Certificate]) -> datetime:
    """The time the TSA attests for ``data``; raises TimestampError unless the token is
    granted, signed by a certificate chaining to ``roots`` and for exactly these bytes."""
    if not roots:
        raise TimestampError("no TSA certificate to check the timestamp against")
    try:
        response = decode_timestamp_response(token)
        builder = VerifierBuilder()
        for root in roots:
            builder = builder.add_root_certificate(root)
        builder.build().verify_message(response, data)
    except (ValueError, VerificationError) as exc:
        raise TimestampError(f"the timestamp does not check: {exc}") from exc
    return response.tst_info.gen_time
