"""The peer baseline: the ``face_recognition`` library (dlib HOG detector, dlib's 5-point shape
predictor and chip, dlib's ResNet descriptor), compared by Euclidean distance as dlib does.

A development/benchmark extra (``pip install .[baseline]``), never a run-time dependency: the
library is imported only when a baseline is built.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image as PILImage
from PIL import ImageOps

from evaluation.pipeline import (
    NO_FACE,
    Metric,
    Template,
    Vector,
    centre_index,
    pad_image,
)
from kernel.frames import Image

#: Score stored for the baseline: the negated Euclidean distance (higher = more alike).
#: dlib's customary "same person" distance is 0.6, i.e. a score of -0.6.
DLIB_DISTANCE = 0.6


def face_recognition_available() -> bool:
    """Whether the ``face_recognition`` library (and dlib) can be imported."""
    try:
        import face_recognition  # noqa: F401
    except Exception:
        return False
    return True


def _library() -> Any:
    import face_recognition

    return face_recognition


class FaceRecognitionPipeline:
    """``face_locations`` (HOG, ``upsample`` times) + ``face_encodings`` (model "small", the
    5-point predictor). Verification crops with no face are retried with ``pad_px`` of black
    border (face-models.md's baseline row); a remaining miss counts as a wrong answer."""

    name = "face_recognition (dlib HOG + dlib ResNet)"
    metric: Metric = "euclidean"

    def __init__(self, *, upsample: int = 1, pad_px: int = 50) -> None:
        self._fr = _library()
        self.upsample = upsample
        self.pad_px = pad_px

    def locate(self, image: Image) -> list[tuple[int, int, int, int]]:
        """Face boxes as (x1, y1, x2, y2)."""
        locs = self._fr.face_locations(image, number_of_times_to_upsample=self.upsample)
        return [(int(left), int(top), int(right), int(bottom)) for top, right, bottom, left in locs]

    def encode(self, image: Image, box: tuple[int, int, int, int]) -> Vector:
        """The 128-d descriptor of the face in ``box``."""
        x1, y1, x2, y2 = box
        enc = self._fr.face_encodings(image, [(y1, x2, y2, x1)], num_jitters=1, model="small")
        return np.asarray(enc[0], np.float32)

    def verification_template(self, image: Image) -> Template:
        boxes = self.locate(image)
        how, src = "direct", image
        if not boxes and self.pad_px > 0:
            frac = self.pad_px / max(image.shape[:2])
            src = pad_image(image, frac)[0]
            boxes, how = self.locate(src), "padded"
        if not boxes:
            return Template(None, NO_FACE, how="failed")
        box = boxes[centre_index(boxes, src.shape[1], src.shape[0])]
        return Template(self.encode(src, box), how=how)

    def _largest(self, image: Image) -> Template:
        boxes = self.locate(image)
        if not boxes:
            return Template(None, NO_FACE)
        box = max(boxes, key=lambda b: b[2] - b[0])
        return Template(self.encode(image, box))

    def enrol(self, data: bytes) -> Template:
        # The library has no enrolment checks: decode, take the largest face.
        try:
            with PILImage.open(io.BytesIO(data)) as img:
                rgb = ImageOps.exif_transpose(img).convert("RGB")
        except Exception:
            return Template(None, "not_an_image")
        return self._largest(np.ascontiguousarray(np.asarray(rgb, np.uint8)))

    def probe(self, image: Image) -> Template:
        return self._largest(image)

    def similarity(
        self, query: Vector, gallery: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.float64]:
        diff = gallery.astype(np.float64) - query.astype(np.float64)
        return np.asarray(-np.linalg.norm(diff, axis=1), dtype=np.float64)
