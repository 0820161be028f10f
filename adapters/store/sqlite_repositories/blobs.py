"""``tx.blobs`` on SQLite: table ``blobs``."""

from __future__ import annotations

from adapters.store import rows
from adapters.store.sqlite_repositories.base import SqliteRepository
from kernel.domain.records import BlobRecord


class SqliteBlobs(SqliteRepository):
    """:class:`kernel.protocols.store.BlobRepository` on SQLite."""

    async def insert(self, rec: BlobRecord) -> None:
        await self._run("INSERT INTO blobs (id, deployment_id, kind, nonce, ciphertext)"
                        " VALUES (?,?,?,?,?)",
                        (rec.id, rec.deployment_id, rec.kind, rec.nonce, rec.ciphertext))

    async def get(self, blob_id: str) -> BlobRecord | None:
        r = await self._one("SELECT * FROM blobs WHERE id=?", (blob_id,))
        return None if r is None else rows.blob(r)

    async def delete(self, blob_ids: list[str]) -> int:
        return await self._delete_in("blobs", "id", blob_ids)

    async def ids(self, deployment_id: str) -> list[str]:
        rows = await self._all("SELECT id FROM blobs WHERE deployment_id=? ORDER BY id",
                               (deployment_id,))
        return [r["id"] for r in rows]
