"""boto3 clients for Amazon Bedrock and S3, and what their errors mean for a job.

Clients are built once per (service, region, endpoint) and shared between worker threads
(boto3 clients are thread-safe; sessions are not). Endpoints can be pointed at local servers
(``BEDROCK_ENDPOINT_URL``, ``BEDROCK_CONTROL_ENDPOINT_URL``, ``AWS_S3_ENDPOINT_URL``), which is
how the tests and benchmarks run without AWS.

Error codes are those the Bedrock runtime API reference lists for StartAsyncInvoke,
GetAsyncInvoke and ListAsyncInvokes
(https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_StartAsyncInvoke.html).
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, ReadTimeoutError
from django.conf import settings

_clients: dict[tuple[str, str, str | None, bool], Any] = {}
_lock = threading.Lock()


def client(service: str, region: str, *, quick: bool = False) -> Any:
    """A shared boto3 client for ``service`` ("bedrock-runtime", "bedrock", "s3") in ``region``.

    ``quick`` gives short timeouts and no retries, for status checks made while a page loads.
    Job calls retry nothing themselves either: throttling is handled by re-enqueueing, so a
    worker thread never sleeps on a busy provider.
    """
    endpoint = {
        "bedrock-runtime": settings.BEDROCK_ENDPOINT_URL,
        "bedrock": settings.BEDROCK_CONTROL_ENDPOINT_URL,
        "s3": settings.AWS_S3_ENDPOINT_URL,
    }.get(service) or None
    key = (service, region, endpoint, quick)
    with _lock:
        if key not in _clients:
            config = Config(
                connect_timeout=3 if quick else settings.AWS_CONNECT_TIMEOUT_SECONDS,
                read_timeout=5 if quick else settings.AWS_READ_TIMEOUT_SECONDS,
                retries={"mode": "standard", "total_max_attempts": 1},
                max_pool_connections=32,
                s3={"addressing_style": "path"} if endpoint and service == "s3" else None,
            )
            _clients[key] = boto3.session.Session().client(
                service, region_name=region, endpoint_url=endpoint, config=config
            )
        return _clients[key]


def forget_clients() -> None:
    """Drop the shared clients, so the next call reads the settings again (tests)."""
    with _lock:
        _clients.clear()


def split_s3_uri(uri: str) -> tuple[str, str]:
    """("bucket", "prefix/") of an ``s3://bucket/prefix`` URI; the prefix ends with "/" or is
    empty. Raises ValueError for anything else."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"{uri!r} is not an s3://bucket/prefix URI.")
    prefix = parsed.path.lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return parsed.netloc, prefix


class ProviderError(Exception):
    """A provider call failed. ``code`` is AWS's error code; ``message`` its text."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class ProviderBusy(ProviderError):
    """Throttled, over the concurrent-job quota, or briefly unreachable: wait and try again."""


class ContentFiltered(ProviderError):
    """The provider's content filters blocked the prompt, an image or the generated video."""


class ProviderUnavailable(ProviderError):
    """Access, credentials, region or model availability: the operator has to act."""


class ProviderRejected(ProviderError):
    """The provider refused the request as malformed (a defect here, or a changed API)."""


_BUSY_CODES = {
    "ThrottlingException",
    "ServiceQuotaExceededException",
    "ServiceUnavailableException",
    "InternalServerException",
    "ModelNotReadyException",
    "TooManyRequestsException",
    "SlowDown",
}
_UNAVAILABLE_CODES = {
    "AccessDeniedException",
    "AccessDenied",
    "ResourceNotFoundException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "NoSuchBucket",
    "AllAccessDisabled",
}
# Words Bedrock uses when its filters block an input or an output; a ValidationException
# carrying them is a content decision, not a malformed request.
_FILTER_WORDS = ("content filter", "blocked", "rai_violation", "responsible ai", "deflection")


def mentions_content_filter(text: str) -> bool:
    """Whether a provider message or status document says a content filter stopped the job."""
    lowered = text.lower()
    return any(word in lowered for word in _FILTER_WORDS)


def classify(error: Exception) -> ProviderError:
    """Turn a botocore exception into one of the ``ProviderError`` kinds above."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        code = details.get("Code", "Unknown")
        message = details.get("Message", "") or str(error)
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code == "ValidationException" and mentions_content_filter(message):
            return ContentFiltered(code, message)
        if code in _BUSY_CODES or status == 429 or status >= 500:
            return ProviderBusy(code, message)
        if code in _UNAVAILABLE_CODES or status in (401, 403):
            return ProviderUnavailable(code, message)
        return ProviderRejected(code, message)
    if isinstance(error, ConnectionError | ReadTimeoutError):
        return ProviderBusy(type(error).__name__, str(error))
    if isinstance(error, BotoCoreError):
        # No credentials, no region, an unknown endpoint: configuration.
        return ProviderUnavailable(type(error).__name__, str(error))
    return ProviderRejected(type(error).__name__, str(error))
