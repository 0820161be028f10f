"""PyAV helpers shared by the camera adapters: RGB conversion with downscaling, an fps meter,
and frame stamping."""

from __future__ import annotations

from collections import deque

import av
import numpy as np

from kernel.clock import Clock
from kernel.frames import Frame, Image


def to_rgb(frame: av.VideoFrame, max_width: int | None = None) -> Image:
    """``frame`` as an H×W×3 RGB uint8 C-contiguous array, scaled down (aspect kept) so its
    width is at most ``max_width``. Colour conversion and scaling are one swscale pass."""
    width, height = frame.width, frame.height
    if max_width is not None and width > max_width:
        height = max(1, round(height * max_width / width))
        width = max_width
        array = frame.to_ndarray(format="rgb24", width=width, height=height)
    else:
        array = frame.to_ndarray(format="rgb24")
    # PyAV may hand back a view over padded lines; the pipeline expects contiguous rows.
    return np.ascontiguousarray(array, dtype=np.uint8)


def stamp(camera_id: str, seq: int, image: Image, clock: Clock) -> Frame:
    """A :class:`Frame` stamped now: wall clock for records, monotonic clock for latency."""
    return Frame(
        camera_id=camera_id,
        seq=seq,
        captured_at=clock.now().timestamp(),
        monotonic=clock.monotonic(),
        image=image,
    )


class RateMeter:
    """Events per second over the last ``window`` seconds (what the health strip shows)."""

    def __init__(self, window: float = 2.0) -> None:
        self._window = window
        self._times: deque[float] = deque()

    def tick(self, now: float) -> float:
        """Record one event at monotonic time ``now``; return the current rate."""
        self._times.append(now)
        while self._times and now - self._times[0] > self._window:
            self._times.popleft()
        return self.rate()

    def rate(self) -> float:
        if len(self._times) < 2:
            return 0.0
        span = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0

    def reset(self) -> None:
        self._times.clear()
