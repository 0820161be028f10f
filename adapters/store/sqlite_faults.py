"""SQLite's errors as storage faults (:mod:`kernel.storage_faults` names the kinds).

SQLite's primary result code says most of it (``SQLITE_FULL``, ``SQLITE_READONLY``,
``SQLITE_BUSY``); an I/O error or a failed open is looked at again on the file system, because
SQLite reports a write to an immutable file as ``SQLITE_IOERR_WRITE`` and a database on a
read-only mount as ``SQLITE_CANTOPEN`` (both measured on this machine, SQLite 3.40).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Final

from kernel.errors import StorageFault
from kernel.storage_faults import (
    DAMAGED,
    DISK_FULL,
    IO_ERROR,
    LOCKED,
    READ_ONLY,
    FaultKind,
    from_os_error,
    probe,
)

_PRIMARY: Final[dict[str, FaultKind | None]] = {
    "SQLITE_FULL": DISK_FULL,
    "SQLITE_READONLY": READ_ONLY,
    "SQLITE_BUSY": LOCKED,
    "SQLITE_LOCKED": LOCKED,
    "SQLITE_IOERR": IO_ERROR,
    "SQLITE_CANTOPEN": None,  # decided by probing: read-only mount, immutable, missing dir
    "SQLITE_CORRUPT": DAMAGED,
    "SQLITE_NOTADB": DAMAGED,
    "SQLITE_PERM": None,
}
_PROBED: Final = frozenset({"SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_PERM",
                            "SQLITE_READONLY"})


def _primary(exc: sqlite3.Error) -> str | None:
    name = getattr(exc, "sqlite_errorname", None)
    if not isinstance(name, str):
        return None
    parts = name.split("_")
    return "_".join(parts[:2]) if len(parts) >= 2 else name


def classify(exc: BaseException, path: Path) -> StorageFault | None:
    """The storage fault ``exc`` is on the database ``path``, or ``None`` for an error that
    is not one (a constraint, a programming error): those propagate unchanged."""
    if isinstance(exc, StorageFault):
        return exc
    if isinstance(exc, OSError):
        return from_os_error(exc, path)
    if not isinstance(exc, sqlite3.Error):
        return None
    primary = _primary(exc)
    if primary not in _PRIMARY:
        return None
    kind = _PRIMARY[primary]
    if primary in _PROBED:
        kind = probe(path) or kind
    if kind is None:
        return None
    retry = 2 if kind == LOCKED else 10
    return StorageFault(kind, str(path), str(exc), retry_after=retry)
