"""``tx.devices`` on PostgreSQL: tables ``devices``, ``enrolment_codes`` and ``receipts``."""

from __future__ import annotations

from datetime import datetime

from adapters.store import rows
from adapters.store.postgres_repositories.base import PostgresRepository
from kernel.domain.records import DeviceRecord, EnrolmentCodeRecord, ReceiptRecord


class PostgresDevices(PostgresRepository):
    """:class:`kernel.protocols.store.DeviceRepository` on PostgreSQL."""

    async def insert(self, rec: DeviceRecord) -> None:
        await self._run("INSERT INTO devices (id, user_name, label, token_hash, enrolled_by,"
                        " enrolled_at, last_seen_at, app_version, delivery, revoked_at,"
                        " revoked_by, deployment_id)"
                        " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)",
                        (rec.id, rec.user, rec.label, rec.token_hash, rec.enrolled_by,
                         rec.enrolled_at, rec.last_seen_at, rec.app_version, rec.delivery,
                         rec.revoked_at, rec.revoked_by, rec.deployment_id))

    async def get(self, device_id: str) -> DeviceRecord | None:
        r = await self._one("SELECT * FROM devices WHERE id=$1", (device_id,))
        return None if r is None else rows.device(r)

    async def by_token(self, token_hash: str) -> DeviceRecord | None:
        r = await self._one("SELECT * FROM devices WHERE token_hash=$1", (token_hash,))
        return None if r is None else rows.device(r)

    async def update(self, rec: DeviceRecord) -> None:
        await self._run("UPDATE devices SET user_name=$1, label=$2, token_hash=$3,"
                        " enrolled_by=$4, enrolled_at=$5, last_seen_at=$6, app_version=$7,"
                        " delivery=$8, revoked_at=$9, revoked_by=$10, deployment_id=$11"
                        " WHERE id=$12",
                        (rec.user, rec.label, rec.token_hash, rec.enrolled_by,
                         rec.enrolled_at, rec.last_seen_at, rec.app_version, rec.delivery,
                         rec.revoked_at, rec.revoked_by, rec.deployment_id, rec.id))

    async def all(self) -> list[DeviceRecord]:
        found = await self._all("SELECT * FROM devices ORDER BY enrolled_at, id")
        return [rows.device(r) for r in found]

    async def put_code(self, rec: EnrolmentCodeRecord) -> None:
        await self._run("INSERT INTO enrolment_codes (code_hash, user_name, label, issued_by,"
                        " issued_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6)",
                        (rec.code_hash, rec.user, rec.label, rec.issued_by, rec.issued_at,
                         rec.expires_at))

    async def take_code(self, code_hash: str) -> EnrolmentCodeRecord | None:
        # one statement: two transactions redeeming the same code cannot both get it
        r = await self._one("DELETE FROM enrolment_codes WHERE code_hash=$1 RETURNING *",
                            (code_hash,))
        return None if r is None else rows.enrolment_code(r)

    async def delete_codes_before(self, expired_at: datetime) -> int:
        return await self._run("DELETE FROM enrolment_codes WHERE expires_at < $1",
                               (expired_at,))

    async def put_receipt(self, rec: ReceiptRecord) -> bool:
        return await self._run("INSERT INTO receipts (alert_id, device_id, kind, path,"
                               " user_name, at) VALUES ($1,$2,$3,$4,$5,$6)"
                               " ON CONFLICT (alert_id, device_id, kind) DO NOTHING",
                               (rec.alert_id, rec.device_id, rec.kind, rec.path, rec.user,
                                rec.at)) == 1

    async def receipts(self, deployment_id: str, alert_id: str | None = None
                       ) -> list[ReceiptRecord]:
        found = await self._all(
            "SELECT r.* FROM receipts r JOIN alerts a ON a.id = r.alert_id"
            " WHERE a.deployment_id=$1 AND ($2::text IS NULL OR r.alert_id=$2)"
            " ORDER BY r.at, r.device_id, r.kind", (deployment_id, alert_id))
        return [rows.receipt(r) for r in found]
