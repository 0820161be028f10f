"""Officers' devices subscribed to Web Push (R6): subscribing and unsubscribing, each with its
audit row in the same transaction. The Web Push sink reads the subscriptions through
:mod:`kernel.delivery.store_subscriptions`; a push carries ids only, never an image."""

from __future__ import annotations

from kernel.domain import audit
from kernel.domain.context import DomainContext
from kernel.domain.deployments import load
from kernel.domain.records import PushSubscriptionRecord


class PushSubscriptions:
    """The subscriptions of the logged-in users' devices."""

    def __init__(self, ctx: DomainContext) -> None:
        self.ctx = ctx

    async def subscribe(self, user: str, *, endpoint: str, p256dh: str, auth: str,
                        device: str, deployment_id: str | None,
                        device_id: str | None = None) -> PushSubscriptionRecord:
        """Register (or refresh, by endpoint) ``user``'s device for one deployment's alerts
        (``None``: every deployment's); :class:`NotFound` for an unknown deployment.
        ``device_id``: the enrolled device it belongs to (revoking it deletes the
        subscription)."""
        async with self.ctx.store.transaction() as tx:
            if deployment_id is not None:
                await load(tx, deployment_id)
            rec = PushSubscriptionRecord(endpoint=endpoint, user=user, p256dh=p256dh,
                                         auth=auth, device=device, deployment_id=deployment_id,
                                         created_at=self.ctx.clock.now(), device_id=device_id)
            await tx.push.put(rec)
            await audit.append(tx, self.ctx.clock, user, "push.subscribe", None,
                               {"device": device[:40], "enrolled": device_id is not None})
        return rec

    async def unsubscribe(self, endpoint: str, user: str) -> bool:
        """Forget one of ``user``'s own subscriptions; ``False`` (nothing done, nothing
        audited) when ``endpoint`` is not theirs."""
        async with self.ctx.store.transaction() as tx:
            gone = await tx.push.delete(endpoint, user)
            if gone:
                await audit.append(tx, self.ctx.clock, user, "push.unsubscribe")
        return bool(gone)
