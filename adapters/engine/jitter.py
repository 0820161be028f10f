"""Random small re-cuts of an aligned chip, for enrolment templates (dlib's ``jitter_image``).

A watch-list photo is one view of the person; the template made from it carries that view's
noise (the crop a pixel off, a slight tilt). Averaging the descriptors of a few re-cuts — the
chip rotated by up to 3°, scaled by 0.97–1 and shifted by up to 2 % of its width, as dlib's
``jitter_image`` does for ``face_recognition``'s ``num_jitters`` — keeps what the person's
face has in common and cancels some of the rest. Enrolment only: live faces are embedded once.
"""

from __future__ import annotations

import cv2
import numpy as np

from kernel.frames import Image

MAX_ROTATION_DEG = 3.0
SCALE = (0.97, 1.0)
SHIFT = 0.02
JITTER_SEED = 20261202
"""Fixed: the same photo always gives the same template (re-enrolment, tests, audit)."""


def jitter(chip: Image, width: int, rng: np.random.Generator) -> Image:
    """One re-cut of ``chip``; a chip of several views side by side (``width`` pixels each)
    gets the same jitter in every view, so its views stay the same face."""
    height = chip.shape[0]
    angle = rng.uniform(-MAX_ROTATION_DEG, MAX_ROTATION_DEG)
    # dlib draws the object's height as a fraction of the chip: a smaller face, zoomed out.
    scale = rng.uniform(*SCALE)
    dx, dy = rng.uniform(-SHIFT, SHIFT, size=2) * width
    centre = (width / 2.0, height / 2.0)
    matrix = cv2.getRotationMatrix2D(centre, angle, scale)
    matrix[:, 2] += (dx, dy)
    views = [chip[:, i * width:(i + 1) * width] for i in range(max(1, chip.shape[1] // width))]
    cut = [cv2.warpAffine(np.ascontiguousarray(v), matrix, (width, height),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
           for v in views]
    out = cut[0] if len(cut) == 1 else np.concatenate(cut, axis=1)
    return np.ascontiguousarray(out, dtype=np.uint8)
