"""Encrypted blobs (R24): every image, template and watch-list detail, as ciphertext."""

from __future__ import annotations

from typing import Protocol

from kernel.domain.records import BlobRecord


class BlobRepository(Protocol):
    """``tx.blobs``: AES-GCM ciphertexts sealed by the domain, kept byte-exact. A store never
    sees a key."""

    async def insert(self, rec: BlobRecord) -> None: ...

    async def get(self, blob_id: str) -> BlobRecord | None: ...

    async def delete(self, blob_ids: list[str]) -> int:
        """Delete by id (unknown ids are ignored); returns how many went."""
        ...

    async def ids(self, deployment_id: str) -> list[str]:
        """The ids of every blob of the deployment, in id order."""
        ...
