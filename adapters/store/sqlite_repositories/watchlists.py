"""``tx.watchlists`` on SQLite: tables ``entries``, ``photos``, ``reviews``, ``blue_walks``."""

from __future__ import annotations

import json
import sqlite3

import msgspec

from adapters.store.sqlite_repositories.base import SqliteRepository, req_dt, ts
from kernel.domain.records import (
    BlueWalk,
    EntryRecord,
    ListKind,
    PhotoGate,
    PhotoRecord,
    ReviewRecord,
)


def _entry(r: sqlite3.Row) -> EntryRecord:
    return EntryRecord(id=r["id"], deployment_id=r["deployment_id"], list=r["list"],
                       category=r["category"], marking=r["marking"],
                       details_blob=r["details_blob"], created_at=req_dt(r["created_at"]),
                       created_by=r["created_by"])


class SqliteWatchlists(SqliteRepository):
    """:class:`kernel.protocols.store.WatchlistRepository` on SQLite."""

    async def insert_entry(self, rec: EntryRecord) -> None:
        await self._run("INSERT INTO entries (id, deployment_id, list, category, marking,"
                        " details_blob, created_at, created_by) VALUES (?,?,?,?,?,?,?,?)",
                        (rec.id, rec.deployment_id, rec.list, rec.category, rec.marking,
                         rec.details_blob, ts(rec.created_at), rec.created_by))

    async def get_entry(self, entry_id: str) -> EntryRecord | None:
        r = await self._one("SELECT * FROM entries WHERE id=?", (entry_id,))
        return None if r is None else _entry(r)

    async def entries(self, deployment_id: str, list_kind: ListKind | None = None
                      ) -> list[EntryRecord]:
        if list_kind is None:
            rows = await self._all("SELECT * FROM entries WHERE deployment_id=?"
                                   " ORDER BY created_at, id", (deployment_id,))
        else:
            rows = await self._all("SELECT * FROM entries WHERE deployment_id=? AND list=?"
                                   " ORDER BY created_at, id", (deployment_id, list_kind))
        return [_entry(r) for r in rows]

    async def delete_entries(self, entry_ids: list[str]) -> int:
        return await self._delete_in("entries", "id", entry_ids)

    async def insert_photo(self, rec: PhotoRecord) -> int:
        async with self._con.execute(
            "INSERT INTO photos (entry_id, deployment_id, photo_blob, template_blob, model_id,"
            " quality, created_at, gate) VALUES (?,?,?,?,?,?,?,?)",
            (rec.entry_id, rec.deployment_id, rec.photo_blob, rec.template_blob, rec.model_id,
             json.dumps(rec.quality), ts(rec.created_at),
             msgspec.json.encode(rec.gate).decode())) as cur:
            return int(cur.lastrowid or 0)

    async def photos(self, deployment_id: str, entry_id: str | None = None
                     ) -> list[PhotoRecord]:
        if entry_id is None:
            rows = await self._all("SELECT * FROM photos WHERE deployment_id=? ORDER BY key",
                                   (deployment_id,))
        else:
            rows = await self._all("SELECT * FROM photos WHERE deployment_id=? AND entry_id=?"
                                   " ORDER BY key", (deployment_id, entry_id))
        return [PhotoRecord(key=r["key"], entry_id=r["entry_id"],
                            deployment_id=r["deployment_id"], photo_blob=r["photo_blob"],
                            template_blob=r["template_blob"], model_id=r["model_id"],
                            quality=json.loads(r["quality"]),
                            created_at=req_dt(r["created_at"]),
                            gate=msgspec.json.decode(r["gate"], type=PhotoGate))
                for r in rows]

    async def clear_template(self, key: int) -> None:
        await self._run("UPDATE photos SET template_blob=NULL WHERE key=?", (key,))

    async def insert_review(self, rec: ReviewRecord) -> None:
        await self._run("INSERT INTO reviews (deployment_id, reviewer, reviewed_at,"
                        " watchlist_version, entries) VALUES (?,?,?,?,?)",
                        (rec.deployment_id, rec.reviewer, ts(rec.reviewed_at),
                         rec.watchlist_version, rec.entries))

    async def last_review(self, deployment_id: str) -> ReviewRecord | None:
        r = await self._one("SELECT * FROM reviews WHERE deployment_id=? ORDER BY id DESC"
                            " LIMIT 1", (deployment_id,))
        if r is None:
            return None
        return ReviewRecord(deployment_id=r["deployment_id"], reviewer=r["reviewer"],
                            reviewed_at=req_dt(r["reviewed_at"]),
                            watchlist_version=r["watchlist_version"], entries=r["entries"])

    async def insert_blue_walk(self, rec: BlueWalk) -> None:
        await self._run("INSERT INTO blue_walks (deployment_id, entry_id, at) VALUES (?,?,?)",
                        (rec.deployment_id, rec.entry_id, ts(rec.at)))

    async def blue_walks(self, deployment_id: str) -> list[BlueWalk]:
        rows = await self._all("SELECT * FROM blue_walks WHERE deployment_id=? ORDER BY id",
                               (deployment_id,))
        return [BlueWalk(deployment_id=r["deployment_id"], entry_id=r["entry_id"],
                         at=req_dt(r["at"])) for r in rows]
