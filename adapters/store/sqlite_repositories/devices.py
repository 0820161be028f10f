"""``tx.devices`` on SQLite: tables ``devices``, ``enrolment_codes`` and ``receipts``."""

from __future__ import annotations

from datetime import datetime

from adapters.store import rows
from adapters.store.sqlite_repositories.base import SqliteRepository, ts
from kernel.domain.records import DeviceRecord, EnrolmentCodeRecord, ReceiptRecord


class SqliteDevices(SqliteRepository):
    """:class:`kernel.protocols.store.DeviceRepository` on SQLite."""

    async def insert(self, rec: DeviceRecord) -> None:
        await self._run("INSERT INTO devices (id, user_name, label, token_hash, enrolled_by,"
                        " enrolled_at, last_seen_at, app_version, delivery, revoked_at,"
                        " revoked_by, deployment_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                        (rec.id, rec.user, rec.label, rec.token_hash, rec.enrolled_by,
                         ts(rec.enrolled_at), ts(rec.last_seen_at), rec.app_version,
                         rec.delivery, ts(rec.revoked_at), rec.revoked_by,
                         rec.deployment_id))

    async def get(self, device_id: str) -> DeviceRecord | None:
        row = await self._one("SELECT * FROM devices WHERE id=?", (device_id,))
        return None if row is None else rows.device(row)

    async def by_token(self, token_hash: str) -> DeviceRecord | None:
        row = await self._one("SELECT * FROM devices WHERE token_hash=?", (token_hash,))
        return None if row is None else rows.device(row)

    async def update(self, rec: DeviceRecord) -> None:
        await self._run("UPDATE devices SET user_name=?, label=?, token_hash=?, enrolled_by=?,"
                        " enrolled_at=?, last_seen_at=?, app_version=?, delivery=?,"
                        " revoked_at=?, revoked_by=?, deployment_id=? WHERE id=?",
                        (rec.user, rec.label, rec.token_hash, rec.enrolled_by,
                         ts(rec.enrolled_at), ts(rec.last_seen_at), rec.app_version,
                         rec.delivery, ts(rec.revoked_at), rec.revoked_by,
                         rec.deployment_id, rec.id))

    async def all(self) -> list[DeviceRecord]:
        found = await self._all("SELECT * FROM devices ORDER BY enrolled_at, id")
        return [rows.device(r) for r in found]

    async def put_code(self, rec: EnrolmentCodeRecord) -> None:
        await self._run("INSERT INTO enrolment_codes (code_hash, user_name, label, issued_by,"
                        " issued_at, expires_at) VALUES (?,?,?,?,?,?)",
                        (rec.code_hash, rec.user, rec.label, rec.issued_by, ts(rec.issued_at),
                         ts(rec.expires_at)))

    async def take_code(self, code_hash: str) -> EnrolmentCodeRecord | None:
        row = await self._one("SELECT * FROM enrolment_codes WHERE code_hash=?", (code_hash,))
        if row is None:
            return None
        await self._run("DELETE FROM enrolment_codes WHERE code_hash=?", (code_hash,))
        return rows.enrolment_code(row)

    async def delete_codes_before(self, expired_at: datetime) -> int:
        # ISO-8601 UTC strings of one format compare in time order
        return await self._run("DELETE FROM enrolment_codes WHERE expires_at < ?",
                               (ts(expired_at),))

    async def put_receipt(self, rec: ReceiptRecord) -> bool:
        return await self._run("INSERT INTO receipts (alert_id, device_id, kind, path,"
                               " user_name, at) VALUES (?,?,?,?,?,?)"
                               " ON CONFLICT (alert_id, device_id, kind) DO NOTHING",
                               (rec.alert_id, rec.device_id, rec.kind, rec.path, rec.user,
                                ts(rec.at))) == 1

    async def receipts(self, deployment_id: str, alert_id: str | None = None
                       ) -> list[ReceiptRecord]:
        found = await self._all(
            "SELECT r.* FROM receipts r JOIN alerts a ON a.id = r.alert_id"
            " WHERE a.deployment_id=? AND (? IS NULL OR r.alert_id=?)"
            " ORDER BY r.at, r.device_id, r.kind", (deployment_id, alert_id, alert_id))
        return [rows.receipt(r) for r in found]
