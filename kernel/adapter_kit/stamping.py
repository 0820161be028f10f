"""Stamping decoded images as :class:`~kernel.frames.Frame` s, and the fps meter a camera's
``stats.fps`` shows: what every camera adapter does with each image it decodes."""

from __future__ import annotations

from collections import deque

from kernel.clock import Clock
from kernel.frames import Frame, Image


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
        """``window``: how many seconds of events the rate is taken over."""
        self._window = window
        self._times: deque[float] = deque()

    def tick(self, now: float) -> float:
        """Record one event at monotonic time ``now``; return the current rate."""
        self._times.append(now)
        while self._times and now - self._times[0] > self._window:
            self._times.popleft()
        return self.rate()

    def rate(self) -> float:
        """The current rate: 0.0 until two events are in the window."""
        if len(self._times) < 2:
            return 0.0
        span = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0

    def reset(self) -> None:
        """Forget every event (a reconnect starts the meter afresh)."""
        self._times.clear()
