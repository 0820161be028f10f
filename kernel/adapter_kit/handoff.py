"""A newest-wins slot between a producer (a decode thread, or an aiortc track task) and the
event loop, plus the clear error a camera raises when its source cannot be used.

Use it directly when frames arrive from somewhere other than a decode loop of your own (a
callback of a vendor SDK, a WebRTC track: ``adapters/camera/webrtc.py``); a camera that decodes
in a thread gets both from :class:`~kernel.adapter_kit.threaded.ThreadedCamera`."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Generic, TypeVar

from kernel.protocols.camera import CameraClosed

T = TypeVar("T")


class CameraError(Exception):
    """A camera's source cannot be used (missing file, not a video, stream refused).

    The message names the camera and says what is wrong, for the operator to read; it never
    carries a password. The supervisor logs it and rebuilds the camera after a backoff.
    """


class FrameHandoff(Generic[T]):
    """Holds at most one item; a newer ``put`` replaces an unread one (counted in ``dropped``).

    ``put``/``fail``/``finish`` may be called from any thread; ``get`` runs on the loop given
    at construction. With ``put(item, wait=True)`` the producer instead blocks (in its own
    thread) until the consumer took the previous item, so nothing is dropped: used to play a
    file as fast as the consumer reads it.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        """``loop``: the event loop ``get`` runs on (``asyncio.get_running_loop()``)."""
        self._loop = loop
        self._cond = threading.Condition()
        self._item: T | None = None
        self._has_item = False
        self._error: BaseException | None = None
        self._ended = False
        self._closed = False
        self._ready = asyncio.Event()
        self.accepted = 0
        self.dropped = 0

    def _wake(self) -> None:
        # call_soon_threadsafe is correct from the loop's own thread too; a closed loop means
        # nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._ready.set)

    def put(self, item: T, wait: bool = False) -> bool:
        """Offer ``item``. Returns False when the handoff is closed (the producer should stop)."""
        with self._cond:
            if wait:
                while self._has_item and not self._closed:
                    self._cond.wait(0.25)
            if self._closed:
                return False
            if self._has_item:
                self.dropped += 1
            self._item = item
            self._has_item = True
            self.accepted += 1
        self._wake()
        return True

    def fail(self, error: BaseException) -> None:
        """Make the next ``get`` (after any pending item) raise ``error``."""
        with self._cond:
            if self._error is None:
                self._error = error
        self._wake()

    def finish(self) -> None:
        """The source has ended for good: ``get`` raises :class:`CameraClosed` once drained."""
        with self._cond:
            self._ended = True
        self._wake()

    def close(self) -> None:
        """Refuse further items and release a producer blocked in ``put(wait=True)``."""
        with self._cond:
            self._closed = True
            self._item = None
            self._has_item = False
            self._cond.notify_all()
        self._wake()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    async def get(self) -> T:
        """Wait for the newest item; raise the producer's error, or CameraClosed at the end."""
        while True:
            with self._cond:
                if self._has_item:
                    item = self._item
                    self._item = None
                    self._has_item = False
                    self._cond.notify_all()
                    return item  # type: ignore[return-value]
                if self._error is not None:
                    raise self._error
                if self._ended or self._closed:
                    raise CameraClosed("camera source has ended")
                # Cleared under the lock: a put after this point schedules a fresh set().
                self._ready.clear()
            await self._ready.wait()
