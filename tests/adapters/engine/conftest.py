"""Real faces as dlib itself sees them, for the parity tests of the dlib5 alignment (R2)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from adapters.engine.dlib_format import model_file
from adapters.engine.shape_predictor import SHAPE_PREDICTOR_FILE
from modelkit import dlib_reference

LFW_SAMPLE = 20


@dataclass(frozen=True)
class DlibFace:
    """One face: the photo, the rectangle given to both implementations, and dlib's output."""

    name: str
    image: np.ndarray
    rect: tuple[int, int, int, int]  # dlib rectangle: left, top, right, bottom (inclusive)
    points: np.ndarray  # dlib's shape_predictor_5 landmarks (5 × 2, integers)
    chip: np.ndarray  # dlib's get_face_chip(size=150, padding=0.25)


@pytest.fixture(scope="session")
def dlib_faces(shared_data: Path) -> list[DlibFace]:
    """Every face dlib's HOG detector finds in the public-domain photos (large faces: dlib
    halves the image before cutting their chips) and in a fixed sample of lfw150 (small
    faces; one upsampling finds them all), with dlib's own landmarks and chips."""
    if not dlib_reference.dlib_available():
        pytest.skip("dlib is not installed (pip install dlib-bin): no reference to compare with")
    photos = sorted((shared_data / "public-domain").glob("*.jpg"))
    lfw = sorted((shared_data / "lfw150" / "by_identity").glob("*/*.jpg"))
    if not photos or not lfw:
        pytest.skip(f"public-domain photos or lfw150 missing under {shared_data}")
    import dlib

    detector: Any = dlib.get_frontal_face_detector()
    predictor: Any = dlib.shape_predictor(str(model_file(SHAPE_PREDICTOR_FILE)))
    faces = []
    sample = lfw[:: max(1, len(lfw) // LFW_SAMPLE)][:LFW_SAMPLE]
    for path, upsample in [(p, 0) for p in photos] + [(p, 1) for p in sample]:
        with Image.open(path) as img:
            rgb = np.ascontiguousarray(np.asarray(img.convert("RGB")))
        for box in detector(rgb, upsample):
            shape = predictor(rgb, box)
            faces.append(DlibFace(
                name=path.name,
                image=rgb,
                rect=(box.left(), box.top(), box.right(), box.bottom()),
                points=np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64),
                chip=np.asarray(dlib.get_face_chip(rgb, shape, size=150, padding=0.25)),
            ))
    assert len(faces) >= 20, f"dlib found only {len(faces)} faces"
    return faces
