"""The shared shape of cameras that decode in a thread of their own (Pinchpoint's file and
RTSP cameras, and any integrator's camera whose SDK blocks).

A blocking demux and decode (PyAV's, a vendor SDK's) must not run on the event loop, so each
such camera gets one daemon thread that decodes and converts to RGB, and hands finished
:class:`~kernel.frames.Frame` s to the event loop through a newest-wins
:class:`~kernel.adapter_kit.handoff.FrameHandoff`. The thread starts on the first ``recv()``.

A subclass sets ``Config``, calls ``super().__init__(context)``, and implements
:meth:`ThreadedCamera._produce`; ``recv``, ``close``, ``stats`` (frames, fps, last error) and
the thread's life come from here. ``docs/adapters.md`` has a complete example.
"""

from __future__ import annotations

import asyncio
import threading
from abc import ABC, abstractmethod
from typing import ClassVar

import msgspec

from kernel.adapter_kit.handoff import CameraError, FrameHandoff
from kernel.adapter_kit.stamping import RateMeter, stamp
from kernel.frames import Frame, Image
from kernel.protocols.adapter import AdapterContext
from kernel.protocols.camera import CameraClosed, CameraStats

JOIN_TIMEOUT = 0.9
"""How long ``close()`` waits for the thread; a thread stuck in a network read is a daemon
and leaves on its own when the read times out (nothing it produces is used any more)."""


class ThreadedCamera(ABC):
    """Base for a camera whose frames come from :meth:`_produce`, run in a daemon thread.

    ``_produce`` calls :meth:`_emit` for each decoded image and returns when the source has
    ended or :attr:`_stop` is set; raising ends the camera with that error (a
    :class:`CameraError` is passed on as it is, anything else is wrapped in one).
    :attr:`_stop` is a :class:`threading.Event`: wait on it (``self._stop.wait(delay)``) to pace
    a source without sleeping through ``close()``.
    """

    Config: ClassVar[type[msgspec.Struct]]

    def __init__(self, context: AdapterContext) -> None:
        """``context`` is the one the registry built the camera with (name, clock, …)."""
        self._ctx = context
        self.stats = CameraStats()
        self._stop = threading.Event()
        self._handoff: FrameHandoff[Frame] | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        self._seq = 0
        self._rate = RateMeter()

    @property
    def camera_id(self) -> str:
        """The camera's id in the config (its adapter context's name)."""
        return self._ctx.name

    @property
    def dropped(self) -> int:
        """Frames decoded but replaced by a newer one before ``recv()`` took them."""
        return self._handoff.dropped if self._handoff is not None else 0

    @abstractmethod
    def _produce(self) -> None:
        """Decode the source, calling :meth:`_emit` per frame (runs in the camera's thread)."""

    def _describe_failure(self, error: Exception) -> str:
        """The message of the CameraError wrapping an unexpected ``error``."""
        return f"camera {self.camera_id!r}: {type(error).__name__}: {error}"

    def _emit(self, image: Image, wait: bool = False) -> bool:
        """Hand one image to ``recv()``; False means the camera is closing (stop producing)."""
        assert self._handoff is not None
        frame = stamp(self.camera_id, self._seq, image, self._ctx.clock)
        self._seq += 1
        self.stats.fps = round(self._rate.tick(frame.monotonic), 2)
        return self._handoff.put(frame, wait=wait) and not self._stop.is_set()

    def _run(self) -> None:
        assert self._handoff is not None
        try:
            self._produce()
        except CameraError as exc:
            self.stats.last_error = str(exc)
            self._handoff.fail(exc)
        except Exception as exc:
            error = CameraError(self._describe_failure(exc))
            self.stats.last_error = str(error)
            self._handoff.fail(error)
        else:
            self._handoff.finish()
        finally:
            self.stats.connected = False

    def _start(self) -> FrameHandoff[Frame]:
        handoff: FrameHandoff[Frame] = FrameHandoff(asyncio.get_running_loop())
        self._handoff = handoff
        self._thread = threading.Thread(
            target=self._run, name=f"camera:{self.camera_id}", daemon=True
        )
        self._thread.start()
        return handoff

    async def recv(self) -> Frame:
        """Wait for the newest decoded frame.

        Raises :class:`CameraClosed` when the source has ended (or the camera was closed), and
        :class:`CameraError` with a readable message when the source cannot be used.
        """
        if self._closed:
            raise CameraClosed(f"camera {self.camera_id!r} is closed")
        handoff = self._handoff or self._start()
        frame = await handoff.get()
        self.stats.frames += 1
        return frame

    async def close(self) -> None:
        """Stop the thread (waiting under a second) and drop any pending frame. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if self._handoff is not None:
            self._handoff.close()
        thread = self._thread
        if thread is not None and thread.is_alive():
            await asyncio.to_thread(thread.join, JOIN_TIMEOUT)
