"""Login, logout, who am I (R23). Every login success and failure is audited (R19). User
administration (unlock among it) is :mod:`mobile_api.routes.users`."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import HTTPException
from litestar.params import JSONBody

from kernel.auth.lockout import client_key
from kernel.auth.passwords import PasswordPoolBusy
from kernel.delivery.broker_accounts import BrokerAccountError
from mobile_api.login_tarpit import BUSY_DELAY_S, REFUSAL_DELAY_S
from mobile_api.schemas import LoginIn, MeOut
from mobile_api.security import (
    COOKIE,
    DEVICE_COOKIE,
    backend_of,
    cookie_attributes,
    over_tls,
    session_of,
)
from mobile_api.views import NO_STORE

log = logging.getLogger("pinchpoint.api.auth")


@post("/api/auth/login", status_code=200, tags=["auth"])
async def login(data: JSONBody[LoginIn], request: Request[Any, Any, Any]
                ) -> Response[MeOut]:
    """Log in with name and password; sets the session cookie, returns the CSRF token.

    401 on a wrong name or password (the same answer for both); 429 with ``Retry-After``
    while this client is throttled for the name (failures counted per client and name, per
    client, and per account: :mod:`kernel.auth.lockout`); 503 with ``Retry-After`` at once
    when the password pool is full (a login flood never reaches the face engine's CPU).
    Every refusal is answered late (:mod:`mobile_api.login_tarpit`): 0.5 s for a 401, up to
    1 s for a 429/503, so a flooding client that waits for its answers sends few."""
    backend = backend_of(request)
    gov = backend.governance
    client = client_key(request.client.host if request.client else None)
    # an enrolled tablet's cookie: this officer's login on it belongs to the device
    device_id = await backend.devices.for_login(request.cookies.get(DEVICE_COOKIE, ""),
                                                data.name)
    try:
        result = await backend.accounts.login(data.name, data.password, client, device_id)
    except PasswordPoolBusy as exc:
        await backend.tarpit.hold(min(BUSY_DELAY_S, exc.retry_after))
        raise HTTPException(status_code=503, headers={"Retry-After": str(exc.retry_after)},
                            detail=str(exc)) from None
    if result.session is None:
        locked = result.locked_for > 0
        if result.audit:  # names that are no account: one row per minute, count folded in
            await gov.log_action(data.name if result.known else "unknown",
                                 "auth.login_locked" if locked else "auth.login_failed",
                                 None, {"known_user": result.known, "client": client,
                                        **({"failures": result.folded} if result.folded
                                           else {})})
        if locked:
            wait = max(1, int(result.locked_for + 0.999))
            await backend.tarpit.hold(min(BUSY_DELAY_S, wait))
            raise HTTPException(status_code=429, headers={"Retry-After": str(wait)},
                                detail=f"too many failed logins; try again in {wait} s")
        await backend.tarpit.hold(REFUSAL_DELAY_S)
        raise HTTPException(status_code=401, detail="wrong user name or password")
    s = result.session
    await gov.log_action(s.user, "auth.login", {"device": device_id} if device_id else None,
                         {"role": s.role})
    settings = backend.settings
    response = Response(
        MeOut(user=s.user, role=s.role, csrf_token=s.csrf,
              idle_timeout_s=settings.session_idle_s,
              absolute_timeout_s=settings.session_absolute_s, device_id=s.device_id),
        headers=NO_STORE)
    response.set_cookie(value=s.token, **cookie_attributes(
        settings.secure_cookie, int(settings.session_absolute_s), tls=over_tls(request)))
    return response


@post("/api/auth/logout", status_code=204, tags=["auth"])
async def logout(request: Request[Any, Any, Any]) -> Response[None]:
    """End this session, and its MQTT account if it has one (the broker then refuses that
    login and drops its connection). A broker that cannot be reached does not keep the
    session alive: the failure is logged and audited, and the account stays until the
    broker's next reachable logout or an operator deletes it."""
    backend, session = backend_of(request), session_of(request)
    await backend.accounts.logout(session.id)
    if backend.broker_accounts is not None and session.role == "officer":
        try:
            await backend.broker_accounts.revoke(session.device_id or session.id)
        except BrokerAccountError as exc:
            log.warning("MQTT account of %s not revoked: %s", session.user, exc)
            await backend.governance.log_action(session.user, "mqtt.revoke_failed", None,
                                                {"error": str(exc)[:200]})
    await backend.governance.log_action(session.user, "auth.logout")
    response: Response[None] = Response(None, status_code=204, headers=NO_STORE)
    response.delete_cookie(COOKIE, path="/")
    return response


@get("/api/auth/me", tags=["auth"])
async def me(request: Request[Any, Any, Any]) -> Response[MeOut]:
    """The logged-in user, role and CSRF token (the PWA calls it after a reload)."""
    backend, s = backend_of(request), session_of(request)
    settings = backend.settings
    return Response(MeOut(user=s.user, role=s.role, csrf_token=s.csrf,
                          idle_timeout_s=settings.session_idle_s,
                          absolute_timeout_s=settings.session_absolute_s,
                          device_id=s.device_id), headers=NO_STORE)


HANDLERS = [login, logout, me]
