"""PyAV helper shared by the camera adapters: RGB conversion with downscaling. Frame stamping
and the fps meter are in the public kit, :mod:`kernel.adapter_kit.stamping`."""

from __future__ import annotations

import av
import numpy as np

from kernel.frames import Image


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
