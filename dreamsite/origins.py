"""Which pages may open a websocket: the site's own origin (scheme, host and port, as Django's
CSRF check compares them), or one listed in ``CSRF_TRUSTED_ORIGINS``.

Channels' ``AllowedHostsOriginValidator`` compares the Origin's host name with
``ALLOWED_HOSTS`` and ignores its scheme and port, so a page served by another program on the
same host (``http://127.0.0.1:9999``) could open a socket with the user's cookies. A browser
sends ``Origin`` on every websocket handshake (RFC 6455, section 4.1), so one without it is
refused too.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin_parts(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin such as ``https://example.com:8443``, or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or not host:
        return None
    return scheme, host, port or DEFAULT_PORTS[scheme]


def _request_scheme(scope: dict[str, Any], headers: dict[bytes, bytes]) -> str:
    """``http`` or ``https``, as Django decides it: the proxy's header where
    ``SECURE_PROXY_SSL_HEADER`` names one, else the connection's own scheme."""
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy_header:
        name = proxy_header[0].removeprefix("HTTP_").replace("_", "-").lower().encode()
        value = headers.get(name, b"").decode("latin1").split(",")[0].strip()
        return "https" if value == proxy_header[1] else "http"
    return "https" if scope.get("scheme") == "wss" else "http"


def _trusted(origin: tuple[str, str, int]) -> bool:
    """Whether ``origin`` is one of ``CSRF_TRUSTED_ORIGINS`` (``https://*.example.com`` takes
    its subdomains, as Django's CSRF check does)."""
    scheme, host, port = origin
    for entry in settings.CSRF_TRUSTED_ORIGINS:
        wildcard = "://*." in entry
        trusted = _origin_parts(entry.replace("://*.", "://", 1))
        if trusted is None or trusted[0] != scheme or trusted[2] != port:
            continue
        if host == trusted[1] or (wildcard and host.endswith("." + trusted[1])):
            return True
    return False


def allowed_origin(scope: dict[str, Any]) -> bool:
    """Whether the websocket handshake in ``scope`` comes from a page of this site: its Origin
    has the request's scheme and the same host and port as its Host header, which
    ``ALLOWED_HOSTS`` accepts; or its Origin is trusted (``CSRF_TRUSTED_ORIGINS``)."""
    headers = dict(scope.get("headers", []))
    origin = _origin_parts(headers.get(b"origin", b"").decode("latin1"))
    if origin is None:
        return False
    if _trusted(origin):
        return True
    host_header = headers.get(b"host", b"").decode("latin1").lower()
    domain, port = split_domain_port(host_header)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    scheme = _request_scheme(scope, headers)
    expected = (scheme, domain.strip("[]"), int(port) if port else DEFAULT_PORTS[scheme])
    return origin == expected


class SameOriginValidator:
    """ASGI middleware: lets a websocket through only from ``allowed_origin``; refuses the
    handshake (HTTP 403) otherwise."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not allowed_origin(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
