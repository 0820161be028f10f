"""Officers' enrolled devices (issue 14, R19, R23): the console issues a one-time code, the
tablet enrols with it, the device list, revoking a lost tablet, and a device's own report of
how it takes its alerts. Each is a call of :class:`kernel.auth.devices.Devices`, audited
there (``device.code_issued``, ``device.enrol``, ``device.enrol_failed``, ``device.revoke``,
``device.alarm_muted``, ``device.alarm_unmuted``).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post, put
from litestar.exceptions import HTTPException
from litestar.params import JSONBody, Parameter

from kernel.auth.devices import (
    DeviceStatus,
    EnrolmentRefused,
    EnrolmentThrottled,
    IssuedCode,
    Revoked,
)
from kernel.auth.lockout import client_key
from mobile_api.login_tarpit import BUSY_DELAY_S, REFUSAL_DELAY_S
from mobile_api.schemas import AlarmIn, AlarmOut, DeviceReportIn, EnrolIn, EnrolmentCodeIn, MeOut
from mobile_api.security import DEVICE_COOKIE, backend_of, cookie_attributes, over_tls
from mobile_api.views import NO_STORE, context

DEVICE_COOKIE_AGE_S = 400 * 24 * 3600
"""The device cookie outlives sessions (a tablet is enrolled once); browsers cap it at 400
days. Revoking the device makes it worthless at once."""

DeviceId = Annotated[str, Parameter(max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


@post("/api/devices/codes", status_code=201, tags=["devices"])
async def issue_code(data: JSONBody[EnrolmentCodeIn], request: Request[Any, Any, Any]
                     ) -> Response[IssuedCode]:
    """A one-time code (``XXXX-XXXX``, valid 10 minutes, used once) that enrols a tablet of
    the officer named; shown once, only its hash is kept. 400 when the name is not an enabled
    officer account."""
    backend, s = context(request)
    issued = await backend.devices.issue_code(data.officer, data.label, s.user)
    return Response(issued, status_code=201, headers=NO_STORE)


@post("/api/devices/enrol", status_code=201, tags=["devices"])
async def enrol(data: JSONBody[EnrolIn], request: Request[Any, Any, Any]) -> Response[MeOut]:
    """Enrol this device with a code from the console: the officer's session (cookie) and
    the device cookie are set. 400 for a wrong, used or expired code (one answer for all),
    429 with ``Retry-After`` while this client is throttled; refusals are answered late, as
    refused logins."""
    backend = backend_of(request)
    client = client_key(request.client.host if request.client else None)
    try:
        done = await backend.devices.enrol(data.code, data.app_version, client)
    except EnrolmentThrottled as exc:
        wait = max(1, int(exc.retry_after + 0.999))
        await backend.tarpit.hold(min(BUSY_DELAY_S, wait))
        raise HTTPException(status_code=429, headers={"Retry-After": str(wait)},
                            detail=str(exc)) from None
    except EnrolmentRefused:
        await backend.tarpit.hold(REFUSAL_DELAY_S)
        raise
    settings, s = backend.settings, done.session
    response = Response(MeOut(user=s.user, role=s.role, csrf_token=s.csrf,
                              idle_timeout_s=settings.session_idle_s,
                              absolute_timeout_s=settings.session_absolute_s,
                              device_id=done.device.id), status_code=201, headers=NO_STORE)
    tls = over_tls(request)
    response.set_cookie(value=s.token, **cookie_attributes(
        settings.secure_cookie, int(settings.session_absolute_s), tls=tls))
    response.set_cookie(value=done.device_token, **{
        **cookie_attributes(settings.secure_cookie, DEVICE_COOKIE_AGE_S, tls=tls),
        "key": DEVICE_COOKIE})
    return response


@get("/api/devices", tags=["devices"])
async def list_devices(request: Request[Any, Any, Any]) -> Response[list[DeviceStatus]]:
    """Every enrolled device: its officer, label, enrolment, last seen, delivery path (MQTT
    or the live feed, and its Web Push subscriptions), app version, and revocation."""
    backend, _ = context(request)
    return Response(await backend.devices.statuses(), headers=NO_STORE)


@post("/api/devices/{device_id:str}/revoke", status_code=200, tags=["devices"])
async def revoke(device_id: DeviceId, request: Request[Any, Any, Any]) -> Response[Revoked]:
    """Revoke a lost tablet: its sessions end, its push subscriptions are deleted and its
    MQTT account too (its open connection is cut). 404 for an unknown device; revoking again
    retries a broker that could not be reached (``mqtt_revoked`` false)."""
    backend, s = context(request)
    return Response(await backend.devices.revoke(device_id, s.user), headers=NO_STORE)


@put("/api/devices/current", status_code=204, tags=["devices"])
async def report(data: JSONBody[DeviceReportIn], request: Request[Any, Any, Any]) -> None:
    """The officer's enrolled device says how it takes its alerts now (``mqtt`` or
    ``feed``), its app version, for the device list, and the live deployment whose alerts it
    takes (its receipts are accepted for those). 404 when this session belongs to no enrolled
    device or the deployment does not exist, 409 when it is not live."""
    backend, s = context(request)
    if s.device_id is None or not await backend.devices.report(
            s.device_id, data.delivery, data.app_version, data.deployment_id):
        raise HTTPException(status_code=404, detail="this session is not an enrolled device")


@post("/api/devices/current/alarm", status_code=200, tags=["devices"])
async def alarm(data: JSONBody[AlarmIn], request: Request[Any, Any, Any]) -> Response[AlarmOut]:
    """The officer muted or unmuted the alarm of this app: recorded for this session's own
    device (or, for a session of no enrolled device, its user) and audited (R19). A muted
    app still shows a new alert, silently. The device is always the session's: there is no
    way to name another."""
    backend, s = context(request)
    await backend.devices.alarm(s.user, s.device_id, data.muted)
    return Response(AlarmOut(muted=data.muted, device_id=s.device_id), headers=NO_STORE)


HANDLERS = [issue_code, enrol, list_devices, revoke, report, alarm]
