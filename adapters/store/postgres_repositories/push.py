"""``tx.push`` on PostgreSQL: table ``push_subscriptions`` (keyed by endpoint)."""

from __future__ import annotations

from adapters.store import rows
from adapters.store.postgres_repositories.base import PostgresRepository
from kernel.domain.records import PushSubscriptionRecord


class PostgresPushSubscriptions(PostgresRepository):
    """:class:`kernel.protocols.store.PushSubscriptionRepository` on PostgreSQL."""

    async def put(self, rec: PushSubscriptionRecord) -> None:
        # a replacement is a new row in every field, as SQLite's INSERT OR REPLACE
        await self._run("INSERT INTO push_subscriptions (endpoint, user_name, p256dh, auth,"
                        " device, deployment_id, created_at, device_id)"
                        " VALUES ($1,$2,$3,$4,$5,$6,$7,$8)"
                        " ON CONFLICT (endpoint) DO UPDATE SET user_name=excluded.user_name,"
                        " p256dh=excluded.p256dh, auth=excluded.auth, device=excluded.device,"
                        " deployment_id=excluded.deployment_id, created_at=excluded.created_at,"
                        " device_id=excluded.device_id",
                        (rec.endpoint, rec.user, rec.p256dh, rec.auth, rec.device,
                         rec.deployment_id, rec.created_at, rec.device_id))

    async def delete(self, endpoint: str, name: str | None = None) -> int:
        if name is None:
            return await self._run("DELETE FROM push_subscriptions WHERE endpoint=$1",
                                   (endpoint,))
        return await self._run("DELETE FROM push_subscriptions WHERE endpoint=$1 AND"
                               " user_name=$2", (endpoint, name))

    async def delete_for_device(self, device_id: str) -> int:
        return await self._run("DELETE FROM push_subscriptions WHERE device_id=$1",
                               (device_id,))

    async def all(self, name: str | None = None) -> list[PushSubscriptionRecord]:
        if name is None:
            found = await self._all("SELECT * FROM push_subscriptions ORDER BY created_at")
        else:
            found = await self._all("SELECT * FROM push_subscriptions WHERE user_name=$1"
                                    " ORDER BY created_at", (name,))
        return [rows.push_subscription(r) for r in found]
