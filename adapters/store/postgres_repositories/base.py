"""What every PostgreSQL repository shares: the transaction's connection and the calls on it,
each turning a database error into :class:`kernel.errors.StoreError` (a lost connection, a
refused row, a statement timeout), so that callers see one error type on both stores."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from kernel.errors import StoreError

# What a broken link to the server raises: the connection is gone, not the statement wrong.
LINK_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.AdminShutdownError,
    asyncpg.CannotConnectNowError, ConnectionError, OSError)


def store_error(exc: BaseException, doing: str) -> StoreError:
    """A :class:`StoreError` saying what failed. asyncpg's messages hold the server's text
    (never the password: it is not part of any statement or error)."""
    if isinstance(exc, LINK_ERRORS):
        return StoreError(f"PostgreSQL connection lost while {doing}: "
                          f"{type(exc).__name__}: {exc}")
    if isinstance(exc, asyncpg.QueryCanceledError):
        return StoreError(f"PostgreSQL statement cancelled while {doing} (statement_timeout_ms "
                          f"exceeded?): {exc}")
    return StoreError(f"PostgreSQL refused {doing}: {type(exc).__name__}: {exc}")


def row_count(status: str) -> int:
    """The row count of a command status (``"DELETE 3"``, ``"INSERT 0 1"``)."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


class PostgresRepository:
    """A repository over the connection of one open transaction (begun and ended by
    :class:`adapters.store.postgres.PostgresStore`)."""

    def __init__(self, con: Any) -> None:
        self._con = con  # an asyncpg connection (the library ships no type information)

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        try:
            return list(await self._con.fetch(sql, *params))
        except (asyncpg.PostgresError, *LINK_ERRORS) as exc:
            raise store_error(exc, sql.split(" ", 1)[0].lower()) from None

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> Any | None:
        rows = await self._all(sql, params)
        return rows[0] if rows else None

    async def _value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self._one(sql, params)
        return None if row is None else row[0]

    async def _run(self, sql: str, params: Sequence[Any] = ()) -> int:
        try:
            return row_count(await self._con.execute(sql, *params))
        except (asyncpg.PostgresError, *LINK_ERRORS) as exc:
            raise store_error(exc, sql.split(" ", 1)[0].lower()) from None

    async def _delete_in(self, table: str, column: str, ids: list[str]) -> int:
        if not ids:
            return 0
        return await self._run(f"DELETE FROM {table} WHERE {column} = ANY($1::text[])", (ids,))
