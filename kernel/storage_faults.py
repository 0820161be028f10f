"""What kind of storage fault an error is: the one place the kinds are named and OS errors
and the file system's own state are read into a :class:`~kernel.errors.StorageFault`.

A store adapter maps its driver's errors here (``adapters/store/sqlite_faults.py`` for
SQLite); the kernel maps the OS errors of its own files (the key ring, the data directory).
SQLite reports a write to an immutable file as a plain ``disk I/O error`` and a read-only
mount as ``unable to open``: :func:`probe` looks at the file system to tell them apart
(measured here: ``chattr +i`` on the database and its WAL gives ``SQLITE_IOERR_WRITE``).
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct
from pathlib import Path
from typing import Final, Literal

from kernel.errors import StorageFault

FaultKind = Literal["read-only", "immutable", "not writable", "disk full", "locked",
                    "i/o error", "damaged"]
READ_ONLY: Final = "read-only"
IMMUTABLE: Final = "immutable"
NOT_WRITABLE: Final = "not writable"
DISK_FULL: Final = "disk full"
LOCKED: Final = "locked"
IO_ERROR: Final = "i/o error"
DAMAGED: Final = "damaged"

WRITES_REFUSED: Final[frozenset[str]] = frozenset(
    {READ_ONLY, IMMUTABLE, NOT_WRITABLE, DISK_FULL, LOCKED, IO_ERROR, DAMAGED})
"""Every kind refuses writes; reads may still work (the store falls back to them)."""

_FS_IOC_GETFLAGS: Final = 0x80086601
_FS_IMMUTABLE_FL: Final = 0x10
_FS_APPEND_FL: Final = 0x20

_ERRNO_KINDS: Final[dict[int, FaultKind]] = {
    errno.ENOSPC: DISK_FULL, errno.EDQUOT: DISK_FULL, errno.EROFS: READ_ONLY,
    errno.EACCES: NOT_WRITABLE, errno.EPERM: NOT_WRITABLE, errno.EIO: IO_ERROR,
}


def _immutable(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        raw = fcntl.ioctl(fd, _FS_IOC_GETFLAGS, struct.pack("i", 0))
    except OSError:  # a file system without inode flags (tmpfs)
        return False
    finally:
        os.close(fd)
    flags: int = struct.unpack("i", raw)[0]
    return bool(flags & (_FS_IMMUTABLE_FL | _FS_APPEND_FL))


def _read_only_fs(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _full(path: Path) -> bool:
    try:
        st = os.statvfs(path)
    except OSError:
        return False
    # Root may use the reserved blocks, so f_bfree (not f_bavail) is what root's writes see.
    free = st.f_bfree if os.geteuid() == 0 else st.f_bavail
    return free * st.f_frsize < 64 * 1024


def probe(path: Path) -> FaultKind | None:
    """What the file system says about writing ``path`` (a file, which may not exist yet, or
    its directory): ``None`` when nothing is wrong that can be seen from outside."""
    where = path if path.exists() else path.parent
    while not where.exists() and where != where.parent:
        where = where.parent
    if _read_only_fs(where):
        return READ_ONLY
    for each in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if each.exists() and _immutable(each):
            return IMMUTABLE
    for each in (path, Path(f"{path}-wal")):
        if each.exists() and not os.access(each, os.W_OK):
            return NOT_WRITABLE
    if where.is_dir() and not os.access(where, os.W_OK | os.X_OK):
        return NOT_WRITABLE
    if _full(where):
        return DISK_FULL
    return None


def from_os_error(exc: OSError, path: Path) -> StorageFault | None:
    """The fault an OS error on ``path`` is, or ``None`` when it is not a storage fault (a
    missing file, a bad name). An ``EACCES``/``EPERM`` is looked at again: it may be an
    immutable file or a read-only mount."""
    kind = _ERRNO_KINDS.get(exc.errno or 0)
    if kind is None:
        return None
    if kind == NOT_WRITABLE:
        kind = probe(path) or NOT_WRITABLE
    return StorageFault(kind, str(exc.filename or path), exc.strerror or "")
