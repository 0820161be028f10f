"""PostgreSQL store on asyncpg: the same repositories and rules as ``store.sqlite``, for
several processes serving one deployment from one shared database (issue 13).

asyncpg was chosen over psycopg 3 (async) by ``bench/bench_store.py``, the same SQL on each
driver in one run on this machine (2 cores): the candidate commit 2.1 ms against 3.2 ms (p50),
the officers' list of 100 alerts 1.5 ms against 2.2 ms, both about 1.5 times faster with
asyncpg; figures in BENCHMARKS.md.

Connecting: host, port, database and user from the config, the password from a file (owner-only,
relative to the data directory) or an environment variable, never from the config file itself
and never in a log line or an error message. Everything lives in one PostgreSQL schema
(``schema``, default ``pinchpoint``), made on first start; a schema holding another program's
tables is refused, as is one migrated by a newer Pinchpoint.

Transactions: ``READ COMMITTED`` plus one transaction-scoped advisory lock per Pinchpoint
schema taken at ``BEGIN``, so that transactions run one at a time across every process, exactly
as SQLite's ``BEGIN IMMEDIATE`` serialises them. The domain relies on that: the audit chain
reads the last row and appends seq + 1, the alert/outbox rules read then write. ``SERIALIZABLE``
would be as safe but fails a conflicting transaction with a serialisation error that the caller
would have to re-run, and an ``async with`` block cannot be re-run by the store. The lock wait
is bounded by ``statement_timeout_ms``.

Every database error inside a transaction is a :class:`kernel.errors.StoreError` (exit code 4);
a connection lost while idle (the server restarted) is replaced before the next transaction
begins, and one lost mid-transaction fails that transaction only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
import zlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import asyncpg
import msgspec

from adapters.store.postgres_migrations import MIGRATIONS
from adapters.store.postgres_repositories import (
    PostgresAccounts,
    PostgresAlerts,
    PostgresAudit,
    PostgresBlobs,
    PostgresDeployments,
    PostgresDevices,
    PostgresDisposals,
    PostgresOutbox,
    PostgresPushSubscriptions,
    PostgresSessions,
    PostgresStatistics,
    PostgresWatchlists,
)
from adapters.store.postgres_repositories.base import LINK_ERRORS, store_error
from kernel.errors import StoreError
from kernel.protocols.adapter import AdapterContext

log = logging.getLogger("pinchpoint.store.postgres")

LOCK_CLASS = 0x50504E54  # "PPNT": the advisory-lock namespace of Pinchpoint's transactions

# The tables whose deleted rows held ciphertext or ids of people: compact() vacuums them.
_PERSONAL = ("blobs", "alerts", "entries", "photos", "outbox", "blue_walks", "sessions")


def read_password(config: PostgresStore.Config, data_dir: Path,
                  environ: Mapping[str, str]) -> str | None:
    """The password from ``password_file`` (refused unless owner-only: it unlocks the audit
    log and every encrypted crop) or ``password_env``; ``None`` when neither is set (a
    ``trust`` or peer-authenticated server)."""
    if config.password_file:
        path = Path(config.password_file)
        path = path if path.is_absolute() else data_dir / path
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                raise StoreError(f"[store] password_file {path} is readable by others (mode "
                                 f"{mode:#o}); make it owner-only (chmod 600)")
            return path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise StoreError(f"[store] password_file {path}: {exc.strerror}") from None
    if config.password_env:
        value = environ.get(config.password_env)
        if value is None:
            raise StoreError(f"[store] password_env names {config.password_env}, which is "
                             "not set in the environment")
        return value
    return None


def _kill(con: Any) -> None:
    """Close a connection at once (the server rolls back what it held), unless the pool has
    already dropped it because its link broke."""
    # released back to the pool already: asyncpg detached it when the link broke
    with contextlib.suppress(asyncpg.InterfaceError):
        con.terminate()


class PostgresStore:
    """The ``store.postgres`` adapter."""

    class Config(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
        host: str = "127.0.0.1"
        port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 5432
        database: Annotated[str, msgspec.Meta(min_length=1, max_length=63)] = "pinchpoint"
        user: Annotated[str, msgspec.Meta(min_length=1, max_length=63)] = "pinchpoint"
        # the password never goes in the config file: a file name (owner-only; relative to the
        # data directory) or the name of an environment variable; neither: no password
        password_file: str = ""
        password_env: Annotated[str, msgspec.Meta(pattern=r"^([A-Za-z_][A-Za-z0-9_]*)?$")] = ""
        # a plain identifier: it is written into statements (search_path, the lock key)
        schema: Annotated[str, msgspec.Meta(pattern=r"^[a-z_][a-z0-9_]{0,62}$")] = "pinchpoint"
        pool_min: Annotated[int, msgspec.Meta(ge=1, le=64)] = 1
        pool_max: Annotated[int, msgspec.Meta(ge=1, le=64)] = 4
        statement_timeout_ms: Annotated[int, msgspec.Meta(ge=100, le=600_000)] = 30_000
        connect_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=120)] = 10.0

        def __post_init__(self) -> None:
            if self.pool_min > self.pool_max:
                raise ValueError(f"pool_min ({self.pool_min}) is above pool_max "
                                 f"({self.pool_max})")
            if self.password_file and self.password_env:
                raise ValueError("give password_file or password_env, not both")

    def __init__(self, config: PostgresStore.Config, context: AdapterContext,
                 environ: Mapping[str, str] | None = None) -> None:
        self.config = config
        self._data_dir = context.data_dir
        self._environ = os.environ if environ is None else environ
        self._pool: Any = None  # asyncpg.Pool (the library ships no type information)
        # the advisory lock of this schema's transactions (crc32: stable across processes);
        # BEGIN and the lock in one round trip
        self._lock_key = zlib.crc32(config.schema.encode()) - 2**31
        self.begin_statement = (f"BEGIN ISOLATION LEVEL READ COMMITTED; "
                                f"SELECT pg_advisory_xact_lock({LOCK_CLASS}, {self._lock_key})")

    @property
    def where(self) -> str:
        """The server, database and schema, for messages (never the password)."""
        c = self.config
        return f"postgresql://{c.user}@{c.host}:{c.port}/{c.database} schema {c.schema}"

    @property
    def schema_version(self) -> int:
        return len(MIGRATIONS)

    async def open(self) -> None:
        """Connect (a pool of ``pool_min``..``pool_max`` connections), then check the schema is
        Pinchpoint's or empty and apply pending migrations."""
        c = self.config
        password = await asyncio.to_thread(read_password, c, self._data_dir, self._environ)
        try:
            pool = await asyncpg.create_pool(
                host=c.host, port=c.port, user=c.user, password=password, database=c.database,
                min_size=c.pool_min, max_size=c.pool_max, timeout=c.connect_timeout_s,
                server_settings={"search_path": c.schema, "TimeZone": "UTC",
                                 "statement_timeout": str(c.statement_timeout_ms),
                                 "application_name": "pinchpoint"})
        except (asyncpg.PostgresError, *LINK_ERRORS, TimeoutError) as exc:
            raise StoreError(f"cannot connect to {self.where}: {type(exc).__name__}: "
                             f"{exc or 'no answer within connect_timeout_s'}") from None
        try:
            await self._migrate(pool)
        except BaseException:
            await pool.close()
            raise
        self._pool = pool
        log.info("store: %s, schema version %d", self.where, len(MIGRATIONS))

    async def _migrate(self, pool: Any) -> None:
        async with pool.acquire() as con:
            for number in range(1, len(MIGRATIONS) + 1):
                try:
                    async with con.transaction():
                        await con.execute(f"SELECT pg_advisory_xact_lock({LOCK_CLASS},"
                                          f" {self._lock_key})")
                        version = await self._version(con)
                        if version >= number:
                            continue
                        await con.execute(MIGRATIONS[number - 1])
                        await con.execute("UPDATE schema_version SET version=$1, "
                                          "applied_at=now()", number)
                except StoreError:
                    raise
                except (asyncpg.PostgresError, *LINK_ERRORS) as exc:
                    raise StoreError(f"schema migration {number} failed on {self.where}: "
                                     f"{type(exc).__name__}: {exc}") from None
            version = await self._version(con)  # a store already up to date still checks

    async def _version(self, con: Any) -> int:
        """The schema's version, making the schema (version 0) when it is new; refuses one
        that holds other tables or comes from a newer Pinchpoint."""
        schema = self.config.schema
        await con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        tables = await con.fetch("SELECT table_name FROM information_schema.tables"
                                 " WHERE table_schema=$1", schema)
        names = {r["table_name"] for r in tables}
        if "schema_version" not in names:
            if names:
                raise StoreError(f"{self.where} holds {len(names)} tables of another program "
                                 f"({', '.join(sorted(names)[:5])}), not Pinchpoint's; set "
                                 "[store] schema to another name. It was left untouched")
            await con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL,"
                              " applied_at TIMESTAMPTZ NOT NULL);"
                              " INSERT INTO schema_version VALUES (0, now())")
            return 0
        version = await con.fetchval("SELECT max(version) FROM schema_version")
        if version is None:
            raise StoreError(f"{self.where}: table schema_version is empty; restore the "
                             "database from a backup. It was left untouched")
        if int(version) > len(MIGRATIONS):
            raise StoreError(f"{self.where} has schema version {version}, newer than this "
                             f"Pinchpoint understands ({len(MIGRATIONS)}); upgrade Pinchpoint. "
                             "It was left untouched")
        return int(version)

    async def _connection(self) -> Any:
        """A pooled connection inside a begun, locked transaction. A connection that died
        while idle (a server restart) is dropped and another tried: nothing ran on it yet."""
        pool = self._pool
        if pool is None:
            raise StoreError("the store is not open")
        attempts = self.config.pool_max + 1
        for attempt in range(attempts):
            try:
                con = await pool.acquire(timeout=self.config.connect_timeout_s)
            except (asyncpg.PostgresError, *LINK_ERRORS, TimeoutError) as exc:
                raise StoreError(f"cannot connect to {self.where}: {type(exc).__name__}: "
                                 f"{exc or 'no connection within connect_timeout_s'}") from None
            try:
                await con.execute(self.begin_statement)
                return con
            except LINK_ERRORS as exc:
                await self._discard(con)
                if attempt == attempts - 1:
                    raise store_error(exc, "beginning a transaction") from None
            except asyncpg.PostgresError as exc:
                await self._discard(con)
                raise store_error(exc, "beginning a transaction") from None
            except BaseException:
                await self._discard(con)
                raise
        raise StoreError(f"cannot begin a transaction on {self.where}")  # pragma: no cover

    async def _discard(self, con: Any) -> None:
        """Give a connection back whatever state it is in: closed if it cannot be reset."""
        try:
            await self._pool.release(con, timeout=5)
        except BaseException:
            _kill(con)
            raise

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresTx]:
        con = await self._connection()
        try:
            try:
                yield PostgresTx(con)
            except BaseException:
                try:
                    await con.execute("ROLLBACK")
                except (asyncpg.PostgresError, *LINK_ERRORS):
                    _kill(con)
                raise
            try:
                await con.execute("COMMIT")
            except (asyncpg.PostgresError, *LINK_ERRORS) as exc:
                _kill(con)
                raise store_error(exc, "committing (the transaction may not have been "
                                  "committed)") from None
        finally:
            await self._discard(con)

    async def compact(self) -> None:
        """``VACUUM`` the tables whose deleted rows held ciphertext or ids, so their space is
        reused (PostgreSQL has no secure_delete: the guarantee that a wiped deployment is
        unreadable is its destroyed key, R24; this shortens how long the bytes linger)."""
        if self._pool is None:
            return
        try:
            await self._pool.execute(f"VACUUM {', '.join(_PERSONAL)}")
        except (asyncpg.PostgresError, *LINK_ERRORS) as exc:
            raise store_error(exc, "vacuuming") from None

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await asyncio.wait_for(pool.close(), timeout=10)
            except TimeoutError:
                pool.terminate()


class PostgresTx:
    """:class:`kernel.protocols.store.StoreTx` on one open transaction: one repository per
    aggregate (:mod:`adapters.store.postgres_repositories`), all on the same connection."""

    def __init__(self, con: Any) -> None:
        self.deployments = PostgresDeployments(con)
        self.blobs = PostgresBlobs(con)
        self.watchlists = PostgresWatchlists(con)
        self.alerts = PostgresAlerts(con)
        self.outbox = PostgresOutbox(con)
        self.audit = PostgresAudit(con)
        self.disposals = PostgresDisposals(con)
        self.statistics = PostgresStatistics(con)
        self.accounts = PostgresAccounts(con)
        self.sessions = PostgresSessions(con)
        self.push = PostgresPushSubscriptions(con)
        self.devices = PostgresDevices(con)
