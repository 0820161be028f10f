"""The one guard every route passes (R11, R23): session, CSRF, then the access matrix.

Order: the route's entry in :data:`mobile_api.roles.MATRIX` (missing → 403 for everyone,
fail closed); ``PUBLIC``/``CAMERA`` routes pass; otherwise a live session from the cookie
(else 401), the CSRF token on state-changing methods (else 403), the role (else 403).

CSRF: a synchronizer token per session, sent by the client in ``X-CSRF-Token`` on POST, PUT,
PATCH and DELETE, compared in constant time with the server's copy. It is not a cookie
(double submit) because the server keeps sessions anyway; together with ``SameSite=Strict``
it stops cross-site form posts. Login itself is public and needs no token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from kernel.auth.accounts import Session, csrf_ok
from mobile_api.backend import ApiBackend
from mobile_api.roles import CAMERA, PUBLIC, access

COOKIE = "pp_session"
DEVICE_COOKIE = "pp_device"
"""An enrolled device's own cookie (:mod:`mobile_api.routes.devices`): a password login on
the device then belongs to it. Never a session: it authorises nothing by itself."""
CSRF_HEADER = "x-csrf-token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def backend_of(connection: ASGIConnection[Any, Any, Any, Any]) -> ApiBackend:
    backend: ApiBackend = connection.app.state["backend"]
    return backend


async def authorize(connection: ASGIConnection[Any, Any, Any, Any],
                    _: BaseRouteHandler) -> None:
    """The app-wide guard; stores the :class:`Session` in ``connection.state.session``."""
    method = str(connection.scope.get("method", "GET"))
    template = str(connection.scope.get("path_template", connection.scope["path"]))
    rule = access(method, template)
    if rule is None:
        raise PermissionDeniedException(f"{method} {template} is not in the access matrix")
    if rule in (PUBLIC, CAMERA):
        return
    token = connection.cookies.get(COOKIE, "")
    session = await backend_of(connection).accounts.resolve(token) if token else None
    if session is None:
        raise NotAuthorizedException("log in first (no session, or it expired)")
    if method in UNSAFE and not csrf_ok(session, connection.headers.get(CSRF_HEADER)):
        raise PermissionDeniedException("missing or wrong X-CSRF-Token header")
    if session.role not in rule:
        raise PermissionDeniedException(f"the {session.role} role may not do this")
    connection.state.session = session


def session_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Session:
    """The session :func:`authorize` found (only on routes that need one)."""
    session: Session = connection.state.session
    return session


def over_tls(request: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """Whether this request reached the server over TLS (the ASGI scope's scheme)."""
    return scope_over_tls(request.scope)


def scope_over_tls(scope: Mapping[str, Any]) -> bool:
    """:func:`over_tls` of a bare ASGI scope (uvicorn sets ``https`` when it terminates TLS;
    ``proxy_headers`` is off, so a client cannot claim it with a header)."""
    return scope.get("scheme") in ("https", "wss")


def cookie_attributes(secure: bool, max_age: int, tls: bool = False) -> dict[str, Any]:
    """The session cookie's flags: HttpOnly, SameSite=Strict, and Secure whenever the request
    came over TLS, whatever ``secure_cookie`` says (``secure``: also on plain HTTP, which
    only ``secure_cookie = false`` for development on 127.0.0.1 turns off)."""
    return {"key": COOKIE, "httponly": True, "samesite": "strict", "secure": secure or tls,
            "path": "/", "max_age": max_age}
