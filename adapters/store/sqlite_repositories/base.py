"""What every SQLite repository shares: the transaction's connection, row helpers and the
timestamp encoding (ISO-8601 text, which compares in time order for one format; read back by
:mod:`adapters.store.rows`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import aiosqlite


def ts(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


class SqliteRepository:
    """A repository over the connection of one open transaction (the transaction is begun and
    ended by :class:`adapters.store.sqlite.SqliteStore`)."""

    def __init__(self, con: aiosqlite.Connection) -> None:
        self._con = con

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        async with self._con.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = await self._all(sql, params)
        return rows[0] if rows else None

    async def _run(self, sql: str, params: Sequence[Any] = ()) -> int:
        async with self._con.execute(sql, params) as cur:
            return cur.rowcount

    async def _delete_in(self, table: str, column: str, ids: list[str]) -> int:
        total = 0
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            total += await self._run(f"DELETE FROM {table} WHERE {column} IN ({marks})", chunk)
        return total
