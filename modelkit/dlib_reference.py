"""dlib itself as the reference for the converted ResNet (tests and ``models build --check-dlib``).

Needs ``dlib`` (the ``dlib-bin`` wheel), which Pinchpoint does not need at run time: import
this module only where a missing dlib is handled (:func:`dlib_available`).
Uses ``shape_predictor_5_face_landmarks.dat`` (CC0) only; never the 68-point model, whose
training data forbids commercial use.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from adapters.engine.dlib_format import RESNET_FILE, model_file
from adapters.engine.shape_predictor import SHAPE_PREDICTOR_FILE
from modelkit.dlib_resnet import CHIP_SIZE, INPUT_NAME, preprocess_rgb_chips

ChipArray = npt.NDArray[np.uint8]
SHAPE_PREDICTOR_5 = SHAPE_PREDICTOR_FILE


def dlib_available() -> bool:
    """True when the ``dlib`` module can be imported."""
    return importlib.util.find_spec("dlib") is not None


def _model_file(name: str) -> str:
    return str(model_file(name))


def dlib_face_chips(images: Iterable[Path], *, upsample: int = 0) -> ChipArray:
    """Aligned 150×150 RGB chips of every face dlib's HOG detector finds in ``images``.

    dlib's own pipeline: frontal face detector, ``shape_predictor_5`` and
    ``get_face_chip(size=150, padding=0.25)``. Returns (N, 150, 150, 3) uint8 (N may be 0).
    """
    import dlib
    from PIL import Image

    detector: Any = dlib.get_frontal_face_detector()
    predictor: Any = dlib.shape_predictor(_model_file(SHAPE_PREDICTOR_5))
    chips: list[ChipArray] = []
    for path in images:
        with Image.open(path) as img:
            rgb = np.asarray(img.convert("RGB"))
        for box in detector(rgb, upsample):
            shape = predictor(rgb, box)
            chips.append(np.asarray(dlib.get_face_chip(rgb, shape, size=CHIP_SIZE, padding=0.25)))
    if not chips:
        return np.zeros((0, CHIP_SIZE, CHIP_SIZE, 3), dtype=np.uint8)
    return np.stack(chips).astype(np.uint8)


def noise_chips(count: int, seed: int = 0) -> ChipArray:
    """Uniform-noise chips: inputs far from any face, to exercise every activation range."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(count, CHIP_SIZE, CHIP_SIZE, 3), dtype=np.uint8)


def dlib_descriptors(chips: ChipArray) -> npt.NDArray[np.float64]:
    """dlib's ``compute_face_descriptor`` of each chip: (N, 128) float64."""
    import dlib

    model: Any = dlib.face_recognition_model_v1(_model_file(RESNET_FILE))
    rows = [np.asarray(model.compute_face_descriptor(np.ascontiguousarray(c))) for c in chips]
    return np.stack(rows).astype(np.float64)


def onnx_descriptors(session: ort.InferenceSession, chips: ChipArray) -> npt.NDArray[np.float32]:
    """The converted model's output for the same chips, one batch."""
    out: npt.NDArray[np.float32] = session.run(None, {INPUT_NAME: preprocess_rgb_chips(chips)})[0]
    return out


def max_abs_diff_vs_dlib(onnx_path: Path, chips: ChipArray) -> float:
    """Largest absolute difference between the ONNX model and dlib over ``chips``."""
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    ours = onnx_descriptors(session, chips)
    return float(np.abs(ours.astype(np.float64) - dlib_descriptors(chips)).max())
