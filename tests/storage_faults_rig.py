"""Real storage faults for the tests (issue 12, finding 7): a small tmpfs filled to the last
block, ``chattr +i`` on ext4 files, a read-only bind mount. We are root; a mount or flag the
kernel refuses skips the test with the reason. Every fault is undone in a ``finally``."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False)


@contextlib.contextmanager
def tmpfs(path: Path, size_kib: int) -> Iterator[Path]:
    """A tmpfs of ``size_kib`` KiB mounted on ``path`` (made if absent)."""
    path.mkdir(parents=True, exist_ok=True)
    done = _run("mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=0700", "tmpfs", str(path))
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        if _run("umount", str(path)).returncode:
            _run("umount", "-l", str(path))  # a file still open: detach it


@contextlib.contextmanager
def ext4(path: Path, size_mib: int) -> Iterator[Path]:
    """A fresh ext4 file system of ``size_mib`` MiB (a loop-mounted image beside ``path``)
    mounted on ``path``: it can be filled, and its files made immutable, so one mount serves
    every fault. No reserved blocks (``-m 0``): full means full, for root too."""
    image = path.with_name(path.name + ".img")
    with image.open("wb") as fh:
        fh.truncate(size_mib << 20)
    made = _run("mkfs.ext4", "-q", "-F", "-m", "0", str(image))
    if made.returncode:
        pytest.skip(f"mkfs.ext4 failed here: {made.stderr.strip()}")
    path.mkdir(parents=True, exist_ok=True)
    done = _run("mount", "-o", "loop", str(image), str(path))
    if done.returncode:
        image.unlink()
        pytest.skip(f"cannot loop-mount an ext4 image here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        if _run("umount", str(path)).returncode:
            _run("umount", "-l", str(path))
        image.unlink()


def fill(directory: Path) -> Path:
    """Fill the file system of ``directory`` to its last block with one file; returns it."""
    filler = directory / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    block = b"\0" * 65536
    try:
        while True:
            try:
                os.write(fd, block)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                if len(block) == 512:
                    break
                block = block[: len(block) // 2]
    finally:
        os.close(fd)
    return filler


@contextlib.contextmanager
def immutable(paths: Sequence[Path]) -> Iterator[None]:
    """``chattr +i`` on ``paths`` (ext4: tmpfs has no such flag), undone on exit.

    Not the ``-shm`` file: SQLite maps it, and a mapped file that may no longer grow ends
    the process with SIGBUS (measured here), which is no storage state to recover from."""
    done: list[Path] = []
    try:
        for path in paths:
            result = _run("chattr", "+i", str(path))
            if result.returncode:
                pytest.skip(f"chattr +i refused on {path}: {result.stderr.strip()}")
            done.append(path)
        yield
    finally:
        for path in done:
            _run("chattr", "-i", str(path))


@contextlib.contextmanager
def read_only_bind(source: Path, target: Path) -> Iterator[Path]:
    """``source`` bound read-only on ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    if _run("mount", "--bind", str(source), str(target)).returncode:
        pytest.skip("cannot bind-mount here")
    try:
        result = _run("mount", "-o", "remount,ro,bind", str(target))
        if result.returncode:
            pytest.skip(f"cannot remount read-only: {result.stderr.strip()}")
        yield target
    finally:
        if _run("umount", str(target)).returncode:
            _run("umount", "-l", str(target))


def db_files(data_dir: Path, name: str = "pinchpoint.db") -> list[Path]:
    """The database and its WAL (the files ``immutable`` is given)."""
    return [p for p in (data_dir / name, data_dir / f"{name}-wal") if p.exists()]
