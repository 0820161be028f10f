"""The unit a camera hands to the pipeline."""

from __future__ import annotations

import msgspec
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
"""An H×W×3 RGB image, uint8, C-contiguous. RGB everywhere inside Pinchpoint."""


class Frame(msgspec.Struct, frozen=True):
    """One decoded video frame, held in memory only.

    ``captured_at`` is wall-clock seconds since the epoch (UTC) when the adapter received the
    frame; ``monotonic`` is the same instant on the process's monotonic clock, used for latency.
    """

    camera_id: str
    seq: int
    captured_at: float
    monotonic: float
    image: Image

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])
