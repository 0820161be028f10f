"""``tx.push`` on SQLite: table ``push_subscriptions`` (keyed by endpoint)."""

from __future__ import annotations

from adapters.store import rows
from adapters.store.sqlite_repositories.base import SqliteRepository, ts
from kernel.domain.records import PushSubscriptionRecord


class SqlitePushSubscriptions(SqliteRepository):
    """:class:`kernel.protocols.store.PushSubscriptionRepository` on SQLite."""

    async def put(self, rec: PushSubscriptionRecord) -> None:
        await self._run("INSERT OR REPLACE INTO push_subscriptions (endpoint, user_name, p256dh,"
                        " auth, device, deployment_id, created_at, device_id)"
                        " VALUES (?,?,?,?,?,?,?,?)",
                        (rec.endpoint, rec.user, rec.p256dh, rec.auth, rec.device,
                         rec.deployment_id, ts(rec.created_at), rec.device_id))

    async def delete(self, endpoint: str, name: str | None = None) -> int:
        if name is None:
            return await self._run("DELETE FROM push_subscriptions WHERE endpoint=?",
                                   (endpoint,))
        return await self._run("DELETE FROM push_subscriptions WHERE endpoint=? AND"
                               " user_name=?", (endpoint, name))

    async def delete_for_device(self, device_id: str) -> int:
        return await self._run("DELETE FROM push_subscriptions WHERE device_id=?",
                               (device_id,))

    async def all(self, name: str | None = None) -> list[PushSubscriptionRecord]:
        if name is None:
            found = await self._all("SELECT * FROM push_subscriptions ORDER BY created_at")
        else:
            found = await self._all("SELECT * FROM push_subscriptions WHERE user_name=?"
                                    " ORDER BY created_at", (name,))
        return [rows.push_subscription(r) for r in found]
