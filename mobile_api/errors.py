"""Exception → response mapping: every error is ``{"status_code", "detail"}`` with a sentence
for the user; internal errors never leak a traceback or data."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from kernel.auth.accounts import AccountError, LastAdminRefused
from kernel.auth.passwords import PasswordPoolBusy, WeakPassword
from kernel.domain.errors import DomainError, KeyUnavailable, NotFound, TransitionRefused
from kernel.domain.thresholds import NotPermitted
from kernel.errors import StorageFault, StoreError
from mobile_api.backend import EngineUnavailable

log = logging.getLogger("pinchpoint.api")


def _body(status: int, detail: str, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response({"status_code": status, "detail": detail}, status_code=status,
                    headers={"Cache-Control": "no-store", **(headers or {})})


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    detail = exc.detail
    if exc.status_code == 413:
        limit = request.app.state["backend"].settings.max_upload_bytes
        detail = (f"upload too large: at most {limit} bytes per request; send fewer or "
                  "smaller photos (R10)")
    elif exc.status_code == 400 and exc.extra:
        # msgspec/Litestar validation: say which field and why
        detail = f"{detail}: {exc.extra}"
    return _body(exc.status_code, str(detail), exc.headers)


def domain_error(_: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    status = 404 if isinstance(exc, NotFound) else 409 if isinstance(
        exc, TransitionRefused) else 410 if isinstance(exc, KeyUnavailable) else 403 if (
        isinstance(exc, NotPermitted)) else 422
    return _body(status, str(exc))


def client_error(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return _body(400, str(exc))


def conflict(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return _body(409, str(exc))


def password_pool_busy(_: Request[Any, Any, Any], exc: PasswordPoolBusy) -> Response[Any]:
    return _body(503, str(exc), {"Retry-After": str(exc.retry_after)})


def too_deep(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # msgspec raises RecursionError, not DecodeError, on JSON nested past its depth limit
    # (found by tests/faults/test_fuzz_api.py: 2,047 nested arrays to the anonymous login
    # route gave a 500), and Litestar decodes the body before any handler runs. None of our
    # handlers recurses over request data, so here it can only be a hostile body: a 400.
    log.info("request body nested too deeply on %s %s", request.method,
             request.scope.get("path_template", "?"))
    return _body(400, "request body nested too deeply")


def unavailable(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return _body(503, str(exc))


def storage_fault(_: Request[Any, Any, Any], exc: StorageFault) -> Response[Any]:
    # The store's monitor logged the fault when it began (once per change, not per
    # request); the client is told which and when to try again.
    return _body(503, f"storage fault, writes refused: {exc}; try again later",
                 {"Retry-After": str(exc.retry_after)})


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # type name only: an exception message might carry data (R3)
    log.error("internal error on %s %s: %s", request.method,
              request.scope.get("path_template", "?"), type(exc).__name__)
    return _body(HTTP_500_INTERNAL_SERVER_ERROR, "internal error; see the server log")


HANDLERS: dict[type[Exception] | int, Any] = {
    HTTPException: http_error,
    DomainError: domain_error,
    AccountError: client_error,
    LastAdminRefused: conflict,
    PasswordPoolBusy: password_pool_busy,
    WeakPassword: client_error,
    EngineUnavailable: unavailable,
    StorageFault: storage_fault,
    RecursionError: too_deep,
    StoreError: unavailable,
    Exception: internal_error,
}
