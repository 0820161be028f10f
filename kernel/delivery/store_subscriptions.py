"""Officers' Web Push subscriptions as the API recorded them in the store, for the sink."""

from __future__ import annotations

from kernel.delivery.store_outbox import Transactional
from kernel.delivery.subscriptions import Subscription


class StorePushSubscriptions:
    """:class:`~kernel.delivery.subscriptions.PushSubscriptions` over the store's table.

    A subscription tied to no deployment wakes its device for every deployment.
    """

    def __init__(self, store: Transactional) -> None:
        self._store = store

    async def for_deployment(self, deployment_id: str) -> list[Subscription]:
        async with self._store.transaction() as tx:
            records = await tx.push.all()
        return [
            Subscription(endpoint=r.endpoint, p256dh=r.p256dh, auth=r.auth)
            for r in records
            if r.deployment_id in (None, deployment_id)
        ]

    async def remove(self, endpoint: str) -> None:
        async with self._store.transaction() as tx:
            await tx.push.delete(endpoint)
