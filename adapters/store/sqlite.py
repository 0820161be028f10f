"""SQLite store on aiosqlite: one database file under the data directory.

Opening is careful: an existing file is first inspected without writing to it (its header read
in Python, then a read-only ``immutable`` connection), so that a damaged file or another
program's database is reported with :class:`StoreError` and left exactly as it was. Only a
file that is empty, or already marked ``application_id`` = Pinchpoint, is migrated and used.

Settings: WAL journal, ``foreign_keys`` on, ``secure_delete`` on (deleted rows are overwritten,
so ciphertext of destroyed data does not linger in free pages), ``synchronous=FULL`` (a
committed candidate survives power loss: persist before announce).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import stat
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import aiosqlite
import msgspec

from adapters.store.sqlite_migrations import APPLICATION_ID, MIGRATIONS
from adapters.store.sqlite_repositories import (
    SqliteAccounts,
    SqliteAlerts,
    SqliteAudit,
    SqliteBlobs,
    SqliteDeployments,
    SqliteDisposals,
    SqliteOutbox,
    SqlitePushSubscriptions,
    SqliteSessions,
    SqliteStatistics,
    SqliteWatchlists,
)
from kernel.errors import StoreError
from kernel.protocols.adapter import AdapterContext

_HEADER = b"SQLite format 3\x00"

log = logging.getLogger("pinchpoint.store.sqlite")


def inspect_file(path: Path) -> str:
    """Decide, without writing, what ``path`` is: ``"new"`` (absent or empty, or an SQLite
    database with no schema), ``"ours"``; anything else raises :class:`StoreError`."""
    if not path.exists():
        return "new"
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            header = fh.read(100)
    except OSError as exc:
        raise StoreError(f"cannot read database {path}: {exc.strerror}") from None
    if size == 0:
        return "new"
    if len(header) < 100 or not header.startswith(_HEADER):
        raise StoreError(f"{path} is not an SQLite database (damaged or another kind of file); "
                         "it was left untouched")
    page_size = struct.unpack(">H", header[16:18])[0]
    page_size = 65536 if page_size == 1 else page_size
    pages, = struct.unpack(">I", header[28:32])
    change, valid_for = struct.unpack(">I", header[24:28])[0], struct.unpack(">I", header[92:96])[0]
    if page_size < 512 or page_size & (page_size - 1):
        raise StoreError(f"{path} has a damaged SQLite header (page size {page_size}); "
                         "it was left untouched")
    if size % page_size or (change == valid_for and pages and size < pages * page_size):
        raise StoreError(f"{path} is truncated ({size} bytes; the header promises "
                         f"{pages * page_size}); restore it from a backup. It was left untouched")
    app_id, = struct.unpack(">I", header[68:72])
    uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
    try:
        con = sqlite3.connect(uri, uri=True)
        try:
            tables = con.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            check_integrity = not Path(f"{path}-wal").exists()
            if check_integrity:
                result = con.execute("PRAGMA quick_check").fetchone()[0]
                if result != "ok":
                    raise StoreError(f"{path} is damaged (SQLite quick_check: {result}); "
                                     "restore it from a backup. It was left untouched")
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is damaged or not a database ({exc}); "
                         "it was left untouched") from None
    if app_id == APPLICATION_ID:
        version, = struct.unpack(">I", header[60:64])
        if version > len(MIGRATIONS):
            raise StoreError(f"{path} has schema version {version}, newer than this "
                             f"Pinchpoint understands ({len(MIGRATIONS)}); upgrade Pinchpoint. "
                             "It was left untouched")
        return "ours"
    if app_id == 0 and tables == 0:
        return "new"
    raise StoreError(f"{path} is another program's SQLite database (application_id "
                     f"{app_id:#x}, {tables} schema objects), not Pinchpoint's; point [store] "
                     "path at another file. It was left untouched")


def owner_only(path: Path) -> None:
    """Create the database file 0600 when absent (SQLite gives its -wal and -shm files the
    database file's mode), and take group and other access off an existing one and its
    -wal/-shm: it holds the audit log, hashes and encrypted crops (issue 12)."""
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError as exc:
        raise StoreError(f"cannot create the database {path}: {exc.strerror}") from None
    for each in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            mode = stat.S_IMODE(each.stat().st_mode)
            if mode & 0o077:
                each.chmod(mode & 0o700)
        except OSError:
            continue  # absent, or a read-only file system: opening says what is wrong


class SqliteStore:
    """The ``store.sqlite`` adapter. ``path`` is relative to the data directory."""

    class Config(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
        path: str = "pinchpoint.db"
        busy_timeout_ms: Annotated[int, msgspec.Meta(ge=0, le=600_000)] = 5000

    def __init__(self, config: SqliteStore.Config, context: AdapterContext) -> None:
        self.config = config
        path = Path(config.path)
        self.path = path if path.is_absolute() else context.data_dir / path
        self._con: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._undo: set[asyncio.Future[Any]] = set()

    @property
    def schema_version(self) -> int:
        return len(MIGRATIONS)

    async def open(self) -> None:
        """Check the file read-only, then connect, set pragmas and migrate."""
        kind = await asyncio.to_thread(inspect_file, self.path)
        del kind  # both "new" and "ours" proceed; every other case raised
        self.path.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(owner_only, self.path)
        con = await aiosqlite.connect(self.path, isolation_level=None)
        con.row_factory = sqlite3.Row
        try:
            for pragma in ("journal_mode = WAL", "foreign_keys = ON", "secure_delete = ON",
                           "synchronous = FULL",
                           f"busy_timeout = {int(self.config.busy_timeout_ms)}"):
                await con.execute(f"PRAGMA {pragma}")
            await self._migrate(con)
        except BaseException:
            await con.close()
            raise
        self._con = con

    async def _migrate(self, con: aiosqlite.Connection) -> None:
        async with con.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        version = int(row[0]) if row else 0
        if version > len(MIGRATIONS):
            raise StoreError(f"{self.path} has schema version {version}, newer than this "
                             f"Pinchpoint understands ({len(MIGRATIONS)}); upgrade Pinchpoint")
        for number in range(version + 1, len(MIGRATIONS) + 1):
            script = (f"BEGIN IMMEDIATE;\n{MIGRATIONS[number - 1]}\n"
                      f"PRAGMA user_version = {number};\nCOMMIT;")
            try:
                await con.executescript(script)
            except sqlite3.Error as exc:
                if con.in_transaction:
                    await con.execute("ROLLBACK")
                raise StoreError(f"schema migration {number} failed on {self.path}: {exc}"
                                 ) from None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteTx]:
        if self._con is None:
            raise StoreError("the store is not open")
        con = self._con
        async with self._lock:
            try:
                await con.execute("BEGIN IMMEDIATE")
            except asyncio.CancelledError:
                # aiosqlite queued BEGIN on the connection's thread before we were cancelled,
                # so it still runs: queue its undo behind it before the lock is released.
                undo = asyncio.ensure_future(con.execute("ROLLBACK"))
                self._undo.add(undo)
                undo.add_done_callback(self._forget_undo)
                raise
            try:
                yield SqliteTx(con)
            except BaseException:
                await con.execute("ROLLBACK")
                raise
            else:
                await con.execute("COMMIT")

    def _forget_undo(self, task: asyncio.Future[Any]) -> None:
        self._undo.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("rollback after a cancelled BEGIN failed: %s", task.exception())

    async def compact(self) -> None:
        if self._con is None:
            return
        async with self._lock:
            await self._con.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def close(self) -> None:
        if self._con is not None:
            con, self._con = self._con, None
            async with self._lock:
                await con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                await con.close()


class SqliteTx:
    """:class:`kernel.protocols.store.StoreTx` on one open transaction: one repository per
    aggregate (:mod:`adapters.store.sqlite_repositories`), all on the same connection."""

    def __init__(self, con: aiosqlite.Connection) -> None:
        self.deployments = SqliteDeployments(con)
        self.blobs = SqliteBlobs(con)
        self.watchlists = SqliteWatchlists(con)
        self.alerts = SqliteAlerts(con)
        self.outbox = SqliteOutbox(con)
        self.audit = SqliteAudit(con)
        self.disposals = SqliteDisposals(con)
        self.statistics = SqliteStatistics(con)
        self.accounts = SqliteAccounts(con)
        self.sessions = SqliteSessions(con)
        self.push = SqlitePushSubscriptions(con)
