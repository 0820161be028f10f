"""``tx.blobs`` on PostgreSQL: table ``blobs`` (``bytea``)."""

from __future__ import annotations

from adapters.store import rows
from adapters.store.postgres_repositories.base import PostgresRepository
from kernel.domain.records import BlobRecord


class PostgresBlobs(PostgresRepository):
    """:class:`kernel.protocols.store.BlobRepository` on PostgreSQL."""

    async def insert(self, rec: BlobRecord) -> None:
        await self._run("INSERT INTO blobs (id, deployment_id, kind, nonce, ciphertext)"
                        " VALUES ($1,$2,$3,$4,$5)",
                        (rec.id, rec.deployment_id, rec.kind, rec.nonce, rec.ciphertext))

    async def get(self, blob_id: str) -> BlobRecord | None:
        r = await self._one("SELECT * FROM blobs WHERE id=$1", (blob_id,))
        return None if r is None else rows.blob(r)

    async def delete(self, blob_ids: list[str]) -> int:
        return await self._delete_in("blobs", "id", blob_ids)

    async def ids(self, deployment_id: str) -> list[str]:
        # COLLATE "C": id order is byte order, as SQLite's, whatever the database's locale
        found = await self._all("SELECT id FROM blobs WHERE deployment_id=$1"
                                ' ORDER BY id COLLATE "C"', (deployment_id,))
        return [r["id"] for r in found]
