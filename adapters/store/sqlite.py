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

from adapters.store.sqlite_faults import classify
from adapters.store.sqlite_migrations import APPLICATION_ID, MIGRATIONS
from adapters.store.sqlite_repositories import (
    SqliteAccounts,
    SqliteAlerts,
    SqliteAudit,
    SqliteBlobs,
    SqliteDeployments,
    SqliteDevices,
    SqliteDisposals,
    SqliteOutbox,
    SqlitePushSubscriptions,
    SqliteSessions,
    SqliteStatistics,
    SqliteWatchlists,
)
from kernel.errors import StorageFault, StoreError
from kernel.protocols.adapter import AdapterContext
from kernel.storage_faults import from_os_error, probe
from kernel.store_health import StoreFaults

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
        fault = from_os_error(exc, path)
        if fault is not None:
            raise fault from None
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
        self.faults = StoreFaults(context.clock)
        """The storage fault while it lasts (health shows it; :class:`StoreFaults`)."""

    @property
    def schema_version(self) -> int:
        return len(MIGRATIONS)

    async def open(self) -> None:
        """Check the file read-only, then connect, set pragmas and migrate. A database that
        cannot be written (read-only mount, immutable or unwritable file, full disk) stops the
        start with a :class:`StorageFault` naming the fault and the path (exit code 4)."""
        kind = await asyncio.to_thread(inspect_file, self.path)
        del kind  # both "new" and "ours" proceed; every other case raised
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._start_fault(exc) from None
        await asyncio.to_thread(owner_only, self.path)
        # SQLite opens an immutable or read-only file read-only without a word, and a full
        # disk fails only at the first write: look before starting on it.
        found = await asyncio.to_thread(probe, self.path)
        if found is not None:
            raise StorageFault(found, str(self.path), "the database cannot be written; "
                               "the store cannot start")
        try:
            con = await aiosqlite.connect(self.path, isolation_level=None)
        except sqlite3.Error as exc:
            raise self._start_fault(exc) from None
        con.row_factory = sqlite3.Row
        try:
            for pragma in ("journal_mode = WAL", "foreign_keys = ON", "secure_delete = ON",
                           "synchronous = FULL",
                           f"busy_timeout = {int(self.config.busy_timeout_ms)}"):
                await con.execute(f"PRAGMA {pragma}")
            await self._migrate(con)
        except sqlite3.Error as exc:
            await con.close()
            raise self._start_fault(exc) from None
        except BaseException:
            await con.close()
            raise
        self._con = con

    def _start_fault(self, exc: BaseException) -> StoreError:
        fault = classify(exc, self.path)
        if fault is not None:
            return StorageFault(fault.kind, fault.path, "the store cannot start: "
                                f"{fault.detail}" if fault.detail else "the store cannot start")
        return StoreError(f"cannot open the database {self.path}: {exc}")

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
                if con.in_transaction:  # SQLITE_FULL has already rolled back
                    await con.execute("ROLLBACK")
                fault = classify(exc, self.path)
                if fault is not None:
                    raise StorageFault(fault.kind, fault.path,
                                       f"schema migration {number} failed: {exc}") from None
                raise StoreError(f"schema migration {number} failed on {self.path}: {exc}"
                                 ) from None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteTx]:
        """One transaction on the shared connection, serialised by a lock.

        Whatever ends it (a return, an error, a cancellation in the body or while BEGIN,
        COMMIT or ROLLBACK is awaited), the lock is released only once the connection is
        out of the transaction: the statement already queued on aiosqlite's thread is waited
        for, and a transaction SQLite left open (a failed COMMIT) is rolled back. A ROLLBACK
        after SQLite rolled back by itself (``SQLITE_FULL`` does) is not sent, so the error
        that caused it propagates. Storage faults propagate as :class:`StorageFault` and
        are reported to :attr:`faults`; while one lasts a deferred transaction is opened
        (:meth:`_begin`), so reads still work and writes meet the fault."""
        if self._con is None:
            raise StoreError("the store is not open")
        con = self._con
        async with self._lock:
            await self._begin(con)
            before = con.total_changes
            try:
                yield SqliteTx(con)
            except BaseException as exc:
                cancelled, _ = await self._finish(con, commit=False)
                fault = classify(exc, self.path)
                if fault is not None:
                    self.faults.failed(fault)
                if cancelled and not isinstance(exc, asyncio.CancelledError):
                    raise asyncio.CancelledError() from exc
                if fault is not None and fault is not exc:
                    raise fault from exc
                raise
            cancelled, error = await self._finish(con, commit=True)
            if error is not None:
                fault = classify(error, self.path)
                if fault is not None:
                    self.faults.failed(fault)
                if cancelled:
                    raise asyncio.CancelledError() from error
                raise (fault or error) from error
            if con.total_changes > before:
                self.faults.succeeded()  # a write was committed: the fault is over
            if cancelled:
                raise asyncio.CancelledError()

    async def _begin(self, con: aiosqlite.Connection) -> None:
        """BEGIN IMMEDIATE; while a storage fault lasts, or when BEGIN IMMEDIATE meets one,
        BEGIN DEFERRED: reads work without waiting for a write lock (a held lock would cost
        every read the busy timeout), and a write meets the fault itself, or succeeds and
        ends it."""
        if self.faults.current is None:
            begin: asyncio.Task[Any] = asyncio.ensure_future(con.execute("BEGIN IMMEDIATE"))
            cancelled = await _settled(begin)
            error = begin.exception()
            if cancelled:
                await self._finish(con, commit=False)
                raise asyncio.CancelledError()
            if error is None:
                return
            fault = classify(error, self.path)
            if fault is None:
                raise error
            self.faults.failed(fault)
        deferred: asyncio.Task[Any] = asyncio.ensure_future(con.execute("BEGIN"))
        cancelled = await _settled(deferred)
        if cancelled:
            await self._finish(con, commit=False)
            raise asyncio.CancelledError()
        error = deferred.exception()
        if error is not None:
            fault = classify(error, self.path)
            if fault is None:
                raise error
            self.faults.failed(fault)
            raise fault from error

    async def _finish(self, con: aiosqlite.Connection, *, commit: bool
                      ) -> tuple[bool, BaseException | None]:
        """COMMIT (if ``commit``), then ROLLBACK if the connection is still in a transaction,
        each run to its end even when the caller is cancelled meanwhile. Returns whether it
        was cancelled and the COMMIT's error."""
        cancelled = False
        error: BaseException | None = None
        if commit:
            task: asyncio.Task[Any] = asyncio.ensure_future(con.execute("COMMIT"))
            cancelled = await _settled(task)
            error = task.exception()
        if con.in_transaction:
            undo: asyncio.Task[Any] = asyncio.ensure_future(con.execute("ROLLBACK"))
            cancelled = await _settled(undo) or cancelled
            if undo.exception() is not None:
                log.warning("rollback failed: %s", undo.exception())
        if con.in_transaction:
            log.error("the store's connection is still in a transaction after ROLLBACK")
        return cancelled, error

    async def compact(self) -> None:
        if self._con is None:
            return
        async with self._lock:
            try:
                await self._con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:
                fault = classify(exc, self.path)
                if fault is None:
                    raise
                self.faults.failed(fault)
                raise fault from exc

    async def close(self) -> None:
        """Checkpoint the WAL into the database, then close. A storage fault stops only the
        checkpoint (the WAL keeps what was committed; SQLite replays it at the next open)."""
        if self._con is not None:
            con, self._con = self._con, None
            async with self._lock:
                try:
                    await con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                except sqlite3.Error as exc:
                    fault = classify(exc, self.path)
                    if fault is None:
                        await con.close()
                        raise
                    log.warning("closing without a checkpoint: %s", fault)
                await con.close()


async def _settled(task: asyncio.Future[Any]) -> bool:
    """Wait until ``task`` is done, even if the caller is cancelled meanwhile (a statement
    queued on aiosqlite's thread runs whatever happens here); True if it was cancelled."""
    cancelled = False
    while not task.done():
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:
            cancelled = True
    return cancelled


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
        self.devices = SqliteDevices(con)
