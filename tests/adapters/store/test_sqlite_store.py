"""The SQLite store: the contract suite, migrations from an empty file, and refusal of damaged
or foreign files without changing a byte (StoreError, exit code 4)."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.store.sqlite import SqliteStore
from adapters.store.sqlite_migrations import APPLICATION_ID, MIGRATIONS
from kernel.clock import ManualClock
from kernel.errors import StoreError
from kernel.executor import BoundedExecutor
from kernel.protocols.adapter import AdapterContext
from kernel.testing.store_contract import StoreContract


def _store(data_dir: Path, path: str = "pinchpoint.db") -> SqliteStore:
    context = AdapterContext(name="sqlite", data_dir=data_dir, executor=BoundedExecutor(1, 1),
                             clock=ManualClock(), log=logging.getLogger("test.sqlite"))
    return SqliteStore(SqliteStore.Config(path=path), context)


class TestSqliteContract(StoreContract):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[SqliteStore]:
        s = _store(tmp_path)
        await s.open()
        yield s
        await s.close()


async def test_migrates_empty_file_and_reopens(tmp_path: Path) -> None:
    """A new file is migrated to the latest schema, marked as ours, WAL and foreign keys on."""
    (tmp_path / "pinchpoint.db").touch()
    s = _store(tmp_path)
    await s.open()
    await s.close()
    con = sqlite3.connect(tmp_path / "pinchpoint.db")
    try:
        assert con.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert con.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        con.close()
    s = _store(tmp_path)
    await s.open()  # a second start applies nothing and works
    await s.close()


def _foreign(path: Path) -> None:
    con = sqlite3.connect(path)
    con.executescript("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL);"
                      "INSERT INTO invoices (total) VALUES (9.5);")
    con.close()


def _truncated(path: Path, tmp_path: Path) -> None:
    con = sqlite3.connect(path)
    con.executescript(f"PRAGMA application_id={APPLICATION_ID};"
                      "CREATE TABLE t (x BLOB);" +
                      "".join("INSERT INTO t VALUES (randomblob(3000));" for _ in range(20)))
    con.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("kind, words", [
    ("random", "not an SQLite database"),
    ("truncated", "truncated"),
    ("foreign", "another program's SQLite database"),
    ("newer", "newer than this Pinchpoint"),
])
async def test_bad_files_refused_untouched(tmp_path: Path, kind: str, words: str) -> None:
    """A damaged or foreign database gives a clear StoreError and is left byte-identical."""
    path = tmp_path / "pinchpoint.db"
    if kind == "random":
        path.write_bytes(os.urandom(8192))
    elif kind == "truncated":
        _truncated(path, tmp_path)
    elif kind == "foreign":
        _foreign(path)
    else:
        con = sqlite3.connect(path)
        con.executescript(f"PRAGMA application_id={APPLICATION_ID}; PRAGMA user_version=999;"
                          "CREATE TABLE future (x);")
        con.close()
    before = path.read_bytes()
    listing = sorted(p.name for p in tmp_path.iterdir())
    store = _store(tmp_path)
    with pytest.raises(StoreError, match=words) as info:
        await store.open()
    assert info.value.exit_code == 4 and str(path) in str(info.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == listing


async def test_database_and_its_wal_and_shm_are_owner_only(tmp_path: Path) -> None:
    """Issue 12, finding 12: pinchpoint.db was created 0644 (world-readable audit log,
    password hashes, ciphertext). Created 0600 now, -wal and -shm alike (SQLite copies the
    database file's mode), and an existing file with wider access is tightened."""
    old = os.umask(0o022)
    try:
        s = _store(tmp_path)
        await s.open()
        try:
            async with s.transaction() as tx:  # a write: the WAL and its index exist now
                await tx.accounts.clear_login_failures("x")
            for name in ("pinchpoint.db", "pinchpoint.db-wal", "pinchpoint.db-shm"):
                mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
                assert mode == 0o600, (name, oct(mode))
        finally:
            await s.close()
        (tmp_path / "pinchpoint.db").chmod(0o644)  # made by an earlier version
        s = _store(tmp_path)
        await s.open()
        await s.close()
        assert stat.S_IMODE((tmp_path / "pinchpoint.db").stat().st_mode) == 0o600
    finally:
        os.umask(old)
