"""Security headers on every response (issue 12, findings 10 and 13; R23), added as the
response starts (Litestar's app-level ``before_send`` hook), so routing errors (404, 405),
exception handlers (429, 500, 503), SSE streams, static PWA files and adapters' routes (WHIP)
carry them too.

The Content-Security-Policy fits the PWA as it is: its scripts are ES modules from
``/js/`` (no inline script, no ``eval``), its styles one stylesheet (inline style only through
the CSSOM, which CSP allows), its images and the live feed (SSE at ``/api/feed``) same-origin.
Nothing may frame it, plug-ins are off, and ``<base>`` cannot re-point its relative URLs.
``Permissions-Policy`` turns off the camera and the rest: no page this server serves captures
media (a WHIP publisher is an encoder, or a page of its own origin: ``tests/media_peers.py``).
HSTS is sent only over TLS (:func:`mobile_api.security.scope_over_tls`): on plain HTTP a
browser ignores it, and a development server on 127.0.0.1 must stay reachable.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

from mobile_api.security import scope_over_tls

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))

PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in (
    "camera", "microphone", "geolocation", "display-capture", "usb", "payment"))

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": PERMISSIONS_POLICY,
}
"""Sent on every HTTP response, replacing any a handler set."""

BeforeSend = Callable[[Message, Scope], Awaitable[None]]

STRICT_TRANSPORT_SECURITY = "max-age=31536000"
"""One year; sent over TLS only. No ``includeSubDomains``: the server is addressed by its
own name or IP, and its name's parent domain is not ours to pin."""


async def add_security_headers(message: Message, scope: Scope) -> None:
    """The ``before_send`` hook: sets :data:`HEADERS` (and HSTS over TLS) on the start of
    every HTTP response."""
    _set(message, scope, HEADERS)


def security_headers_hook(connect_src: tuple[str, ...] = ()) -> BeforeSend:
    """:func:`add_security_headers` whose CSP also lets the page connect to ``connect_src``
    (origins such as the MQTT broker's ``wss://host:8884`` for the officers' app, issue 14:
    ``service.http`` ``mqtt.ws_url``)."""
    if not connect_src:
        return add_security_headers
    policy = CONTENT_SECURITY_POLICY.replace(
        "connect-src 'self'", " ".join(("connect-src 'self'", *connect_src)))
    headers = {**HEADERS, "Content-Security-Policy": policy}

    async def hook(message: Message, scope: Scope) -> None:
        _set(message, scope, headers)

    return hook


def _set(message: Message, scope: Scope, values: dict[str, str]) -> None:
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in values.items():
        headers[name] = value
    if scope_over_tls(scope):
        headers["Strict-Transport-Security"] = STRICT_TRANSPORT_SECURITY
