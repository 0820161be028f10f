"""Contract every camera adapter must pass (see docs/adapters.md).

Usage in an integrator's test module::

    from kernel.testing.camera_contract import CameraContract

    class TestMyCamera(CameraContract):
        async def make_camera(self, context):
            return MyCamera(MyCamera.Config(...), context)

The hook receives a ready :class:`~kernel.protocols.adapter.AdapterContext`; the camera it
returns must produce at least ``frames_needed`` frames without outside help.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from kernel.clock import SystemClock
from kernel.executor import BoundedExecutor
from kernel.frames import Frame
from kernel.protocols.adapter import AdapterContext
from kernel.protocols.camera import CameraSource, CameraStats


def make_context(name: str = "contract-cam", data_dir: Path | None = None) -> AdapterContext:
    """A context like the runtime's, for adapter tests."""
    return AdapterContext(
        name=name,
        data_dir=data_dir or Path(tempfile.mkdtemp(prefix="pinchpoint-contract-")),
        executor=BoundedExecutor(1, 1),
        clock=SystemClock(),
        log=logging.getLogger(f"pinchpoint.contract.{name}"),
    )


class CameraContract:
    """Inherited test methods that any :class:`CameraSource` must pass."""

    frames_needed = 3
    recv_timeout = 20.0

    async def make_camera(self, context: AdapterContext) -> Any:
        raise NotImplementedError("implement make_camera(context) in your Test class")

    async def _frames(self, n: int) -> tuple[Any, list[Frame]]:
        camera = await self.make_camera(make_context())
        frames = [await asyncio.wait_for(camera.recv(), self.recv_timeout) for _ in range(n)]
        return camera, frames

    async def test_is_a_camera_source_with_typed_config(self) -> None:
        camera = await self.make_camera(make_context())
        try:
            assert isinstance(camera, CameraSource)
            assert issubclass(getattr(type(camera), "Config", object), msgspec.Struct)
            assert isinstance(camera.stats, CameraStats)
        finally:
            await camera.close()

    async def test_frames_are_rgb_uint8_and_named(self) -> None:
        camera, frames = await self._frames(self.frames_needed)
        try:
            for frame in frames:
                assert isinstance(frame, Frame)
                assert frame.camera_id == "contract-cam"
                assert frame.image.dtype == np.uint8
                assert frame.image.ndim == 3 and frame.image.shape[2] == 3
                assert frame.image.flags["C_CONTIGUOUS"]
                assert abs(frame.captured_at - time.time()) < 3600
        finally:
            await camera.close()

    async def test_sequence_and_time_move_forward(self) -> None:
        camera, frames = await self._frames(self.frames_needed)
        try:
            seqs = [f.seq for f in frames]
            assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
            monos = [f.monotonic for f in frames]
            assert monos == sorted(monos)
        finally:
            await camera.close()

    async def test_close_is_quick_and_idempotent(self) -> None:
        camera, _ = await self._frames(1)
        await asyncio.wait_for(camera.close(), 2.0)
        await asyncio.wait_for(camera.close(), 2.0)

    async def test_close_while_waiting_for_a_frame(self) -> None:
        camera = await self.make_camera(make_context())
        pending = asyncio.ensure_future(camera.recv())
        await asyncio.sleep(0)
        pending.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pending
        await asyncio.wait_for(camera.close(), 2.0)
