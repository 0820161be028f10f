"""Camera seam: one async method, ``recv()``, is the whole interface (as in aiortc)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import msgspec

from kernel.frames import Frame


class CameraClosed(Exception):
    """Raised by :meth:`CameraSource.recv` when the source has ended for good (a file played
    once). The supervisor does not restart a camera that ended this way."""


class CameraStats(msgspec.Struct):
    """Counters a camera keeps about itself, shown on the operator's camera-health strip."""

    frames: int = 0
    decode_errors: int = 0
    reconnects: int = 0
    fps: float = 0.0
    connected: bool = False
    last_error: str | None = None


@runtime_checkable
class CameraSource(Protocol):
    """A source of timestamped RGB frames.

    Write one by implementing ``recv()``: it waits for the next frame and returns it. Raise
    :class:`CameraClosed` when the source has ended for good; raise anything else for a fault
    (a dead stream): the kernel's supervisor then calls ``close()``, builds a fresh instance
    after a backoff, and the other cameras keep running. An adapter that can reconnect by itself
    (RTSP) should do so inside ``recv()`` and count it in ``stats.reconnects``.

    Rules:
    - never block the event loop: decode in ``context.executor`` or a thread;
    - return the newest frame you have; the kernel drops stale ones anyway (counted);
    - ``close()`` must be idempotent and quick (under a second), and release sockets and threads.

    Registered as ``camera.<name>``; the class has a ``Config`` msgspec Struct and is
    constructed as ``Cls(config, context)``.
    """

    stats: CameraStats

    async def recv(self) -> Frame:
        """Wait for and return the next frame."""
        ...

    async def close(self) -> None:
        """Stop and release everything. Safe to call twice."""
        ...
