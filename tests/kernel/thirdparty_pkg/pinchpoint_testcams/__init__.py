"""An integrator's camera: grey frames at a fixed rate, and a marker file once it runs."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from kernel.frames import Frame
from kernel.protocols.camera import CameraStats


class TickerCamera:
    class Config(msgspec.Struct, forbid_unknown_fields=True):
        fps: float = 20.0
        marker: str = ""

    def __init__(self, config: Config, context: Any) -> None:
        self.config = config
        self.context = context
        self.stats = CameraStats(connected=True)
        self._image = np.full((48, 64, 3), 128, np.uint8)

    async def recv(self) -> Frame:
        await asyncio.sleep(1 / self.config.fps)
        self.stats.frames += 1
        if self.config.marker and self.stats.frames == 5:
            Path(self.config.marker).write_text(self.context.name)
        return Frame(self.context.name, self.stats.frames, time.time(), time.monotonic(),
                     self._image)

    async def close(self) -> None:
        self.stats.connected = False
