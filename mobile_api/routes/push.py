"""Web Push subscriptions of officers' devices (R6) and the VAPID public key."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, delete, get, post
from litestar.exceptions import HTTPException
from litestar.params import JSONBody, QueryParameter

from mobile_api.schemas import PushSubscriptionIn, PushSubscriptionOut, VapidKeyOut
from mobile_api.views import context


@get("/api/push/vapid-public-key", tags=["push"])
async def vapid_key(request: Request[Any, Any, Any]) -> VapidKeyOut:
    """The key the PWA passes to ``pushManager.subscribe`` (404 when Web Push is not set up)."""
    backend, _ = context(request)
    if not backend.vapid_public_key:
        raise HTTPException(status_code=404, detail="Web Push is not configured on this server")
    return VapidKeyOut(public_key=backend.vapid_public_key)


@post("/api/push/subscriptions", status_code=201, tags=["push"])
async def subscribe(data: JSONBody[PushSubscriptionIn], request: Request[Any, Any, Any]
                    ) -> PushSubscriptionOut:
    """Register (or refresh) this device's subscription for the logged-in officer; on an
    enrolled device it belongs to the device (revoking the device deletes it)."""
    backend, s = context(request)
    # 404 for an unknown deployment
    rec = await backend.governance.push.subscribe(
        s.user, endpoint=data.endpoint, p256dh=data.keys.p256dh, auth=data.keys.auth,
        device=data.device, deployment_id=data.deployment_id, device_id=s.device_id)
    return PushSubscriptionOut(endpoint=rec.endpoint, device=rec.device,
                               deployment_id=rec.deployment_id, created_at=rec.created_at)


@delete("/api/push/subscriptions", status_code=204, tags=["push"])
async def unsubscribe(request: Request[Any, Any, Any],
                      endpoint: Annotated[str, QueryParameter(max_length=2000)]) -> None:
    """Forget one of the officer's own subscriptions (404 if it is not theirs)."""
    backend, s = context(request)
    if not await backend.governance.push.unsubscribe(endpoint, s.user):
        raise HTTPException(status_code=404, detail="no such subscription of yours")


HANDLERS = [vapid_key, subscribe, unsubscribe]
