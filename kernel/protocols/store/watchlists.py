"""Watch lists and blue lists (R8-R12, R21): entries, enrolled photos, reviews, blue walks."""

from __future__ import annotations

from typing import Protocol

from kernel.domain.records import BlueWalk, EntryRecord, ListKind, PhotoRecord, ReviewRecord


class WatchlistRepository(Protocol):
    """``tx.watchlists``: a deployment's entries with their photos (one template each), the
    reviews of the list (R9) and the declared blue-list walk-pasts (R21)."""

    async def insert_entry(self, rec: EntryRecord) -> None: ...

    async def get_entry(self, entry_id: str) -> EntryRecord | None: ...

    async def entries(self, deployment_id: str, list_kind: ListKind | None = None
                      ) -> list[EntryRecord]:
        """The deployment's entries (of one list when ``list_kind`` is given), oldest first."""
        ...

    async def delete_entries(self, entry_ids: list[str]) -> int:
        """Delete entries with their photos and blue walks (not their blobs)."""
        ...

    async def insert_photo(self, rec: PhotoRecord) -> int:
        """Insert and return the assigned template key (``rec.key`` is ignored)."""
        ...

    async def photos(self, deployment_id: str, entry_id: str | None = None
                     ) -> list[PhotoRecord]:
        """The deployment's photos (of one entry when ``entry_id`` is given), in key order."""
        ...

    async def clear_template(self, key: int) -> None:
        """Forget the photo's ``template_blob`` (``None``); the photo stays."""
        ...

    async def insert_review(self, rec: ReviewRecord) -> None: ...

    async def last_review(self, deployment_id: str) -> ReviewRecord | None:
        """The review inserted last for the deployment."""
        ...

    async def insert_blue_walk(self, rec: BlueWalk) -> None: ...

    async def blue_walks(self, deployment_id: str) -> list[BlueWalk]:
        """The deployment's blue walks in the order they were inserted."""
        ...
