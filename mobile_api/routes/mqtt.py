"""MQTT over WebSockets for the officers' PWA (R6, issue 14): a login to the broker for this
session, which logout deletes (:mod:`mobile_api.routes.auth`)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.exceptions import HTTPException
from litestar.params import JSONBody

from kernel.delivery.broker_accounts import BrokerAccountError
from mobile_api.schemas import MqttCredentialsIn, MqttCredentialsOut
from mobile_api.views import NO_STORE, context


@post("/api/mqtt/credentials", status_code=201, tags=["mqtt"])
async def credentials(data: JSONBody[MqttCredentialsIn], request: Request[Any, Any, Any]
                      ) -> Response[MqttCredentialsOut]:
    """The broker's WebSocket URL and a fresh account of this session (of its enrolled
    device, when it belongs to one) that may read the live deployment's alert topic only (an
    earlier one is replaced). 404 when
    MQTT is not set up (the PWA then uses the live feed), 404 for no such deployment, 409 when
    it is not live, 503 when the broker cannot make the account. Audited (R19)."""
    backend, s = context(request)
    mqtt, accounts = backend.settings.mqtt, backend.broker_accounts
    if mqtt is None or accounts is None:
        raise HTTPException(status_code=404, detail="MQTT is not configured on this server")
    deployment = await backend.governance.deployments.get(data.deployment_id)  # 404
    if deployment.state != "live":
        raise HTTPException(status_code=409, detail="the deployment is not live")
    try:
        # an enrolled tablet's account is the device's (revoking the device deletes it)
        login = await accounts.grant(s.device_id or s.id, deployment.id)
    except BrokerAccountError as exc:
        raise HTTPException(status_code=503, headers={"Retry-After": "10"},
                            detail=f"the MQTT broker cannot make an account now: {exc}"
                            ) from None
    if s.device_id is not None:
        # the device takes this deployment's alerts now: its receipts are for those
        await backend.devices.report(s.device_id, None, None, deployment.id)
    await backend.governance.log_action(s.user, "mqtt.account_granted",
                                        {"deployment": deployment.id,
                                         **({"device": s.device_id} if s.device_id else {})},
                                        {"username": login.username})
    return Response(MqttCredentialsOut(ws_url=mqtt.ws_url, username=login.username,
                                       password=login.password, client_id=login.client_id,
                                       topic=login.topic), status_code=201, headers=NO_STORE)


HANDLERS = [credentials]
