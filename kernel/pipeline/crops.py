"""The images a candidate carries (R4, R6): a face crop and an upper-torso crop of the frame.

Only the matcher's candidates ever reach these functions; a non-matching face is never cut out
or encoded.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image as PILImage

from kernel.frames import Image

TORSO_WIDTH = 3.0
"""Torso box width in face widths: shoulders are ~2.5 face widths; the rest is margin."""
TORSO_ABOVE = 0.5
"""Face heights kept above the face box (hair, hat)."""
TORSO_BELOW = 3.5
"""Face heights below the face box: chin to about the waist of an adult."""
FACE_MARGIN = 0.35
"""Fraction of the face box added on each side of the operator's face crop."""

Box = tuple[float, float, float, float]


def _clamp(x1: float, y1: float, x2: float, y2: float, w: int, h: int) -> tuple[int, int, int, int]:
    return (
        min(max(int(np.floor(x1)), 0), w),
        min(max(int(np.floor(y1)), 0), h),
        min(max(int(np.ceil(x2)), 0), w),
        min(max(int(np.ceil(y2)), 0), h),
    )


def upper_torso_box(face_box: Box, frame_w: int, frame_h: int) -> tuple[int, int, int, int]:
    """Head-to-waist box for a face box, in whole pixels, clamped at the frame edges (R6)."""
    fx1, fy1, fx2, fy2 = face_box
    fw, fh = max(0.0, fx2 - fx1), max(0.0, fy2 - fy1)
    cx = (fx1 + fx2) / 2
    return _clamp(cx - TORSO_WIDTH * fw / 2, fy1 - TORSO_ABOVE * fh,
                  cx + TORSO_WIDTH * fw / 2, fy2 + TORSO_BELOW * fh, frame_w, frame_h)


def face_box_with_margin(face_box: Box, frame_w: int, frame_h: int) -> tuple[int, int, int, int]:
    """The face box grown by :data:`FACE_MARGIN` on each side, clamped at the frame edges."""
    fx1, fy1, fx2, fy2 = face_box
    mx, my = FACE_MARGIN * (fx2 - fx1), FACE_MARGIN * (fy2 - fy1)
    return _clamp(fx1 - mx, fy1 - my, fx2 + mx, fy2 + my, frame_w, frame_h)


def crop(image: Image, box: tuple[int, int, int, int]) -> Image:
    x1, y1, x2, y2 = box
    return np.ascontiguousarray(image[y1:y2, x1:x2])


def jpeg(image: Image, quality: int = 90) -> bytes:
    """Encode an RGB image as JPEG (CPU work: call it in the executor)."""
    out = io.BytesIO()
    PILImage.fromarray(image, "RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def evidence(image: Image, face_box: Box) -> tuple[bytes, bytes]:
    """(face crop JPEG, upper-torso JPEG) of one matched face."""
    h, w = image.shape[:2]
    face = crop(image, face_box_with_margin(face_box, w, h))
    torso = crop(image, upper_torso_box(face_box, w, h))
    return jpeg(face), jpeg(torso)
