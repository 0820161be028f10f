"""dlib's face chip without dlib: the same pixels, hence the same descriptors (R2).

Measured here (dlib-bin 20.0.1, 24 faces of which 3 wide enough for dlib to halve the image
first): our chips equal ``dlib.get_face_chip``'s pixel for pixel (mean and max absolute
difference 0), and our ONNX ResNet on our chips against dlib's ``compute_face_descriptor``
on dlib's chips gives 1 − cos ≤ 1e-7 (the conversion's own error).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from adapters.engine.dlib_chip import (
    DLIB_CHIP_SIZE,
    ChipDetails,
    extract_image_chip,
    face_chip,
    face_chip_details,
    pyramid_down,
)
from adapters.engine.model_store import RESNET_NAME
from modelkit import dlib_reference
from tests.adapters.engine.conftest import DlibFace


def test_chips_equal_dlibs_on_real_faces(dlib_faces: list[DlibFace]) -> None:
    """R2: mean absolute difference ≤ 1 grey level on every face (measured: 0, bit-exact)."""
    halved = 0
    for face in dlib_faces:
        ours = face_chip(face.image, face.points)
        assert ours.shape == face.chip.shape == (DLIB_CHIP_SIZE, DLIB_CHIP_SIZE, 3)
        diff = np.abs(ours.astype(np.int16) - face.chip.astype(np.int16))
        assert diff.mean() <= 1.0, face.name
        assert np.mean(diff > 2) < 0.01, face.name
        rect = face_chip_details(face.points).rect
        halved += (rect[2] - rect[0] + 2) / 2 > DLIB_CHIP_SIZE  # dlib's pyramid was used
    assert halved >= 1, "no face exercised dlib's halving path"


def test_descriptors_of_our_chips_match_dlibs_own(
    dlib_faces: list[DlibFace], models_dir: Path
) -> None:
    """R2: our ResNet on our chips vs dlib's ``compute_face_descriptor`` on dlib's chips:
    1 − cos ≤ 1e-3 on every face (measured ≤ 1e-7)."""
    session = ort.InferenceSession(str(models_dir / RESNET_NAME),
                                   providers=["CPUExecutionProvider"])
    ours = dlib_reference.onnx_descriptors(
        session, np.stack([face_chip(f.image, f.points) for f in dlib_faces]))
    theirs = dlib_reference.dlib_descriptors(np.stack([f.chip for f in dlib_faces]))
    cos = np.sum(ours * theirs, axis=1) / (
        np.linalg.norm(ours, axis=1) * np.linalg.norm(theirs, axis=1))
    assert (1 - cos).max() <= 1e-3


def test_a_square_unrotated_chip_samples_the_image_where_dlib_says() -> None:
    """R2: corner pixels map onto the rectangle's corners, (size − 1) apart; bilinear in
    between, truncated to uint8; black where a neighbour falls outside the image."""
    ramp = np.tile(np.arange(200, dtype=np.uint8), (200, 1))
    image = np.stack([ramp, ramp.T, np.full_like(ramp, 7)], axis=2)
    # A 31 px wide rectangle onto a 21 px chip (too small to be halved first): chip column
    # c samples x = 10 + 1.5 c, where the ramp's value is x; 11.5 truncates to 11.
    chip = extract_image_chip(image, ChipDetails((10.0, 20.0, 40.0, 50.0), 0.0, 21, 21))
    np.testing.assert_array_equal(chip[0, :, 0], np.floor(10 + 1.5 * np.arange(21)))
    np.testing.assert_array_equal(chip[:, 0, 1], np.floor(20 + 1.5 * np.arange(21)))
    assert (chip[..., 2] == 7).all()
    # 51 px wide: halved once would still exceed the chip's pixels, so dlib blurs and halves
    # the image first; the geometry is the same (a ramp stays a ramp), to a grey level.
    halved = extract_image_chip(image, ChipDetails((10.0, 20.0, 60.0, 70.0), 0.0, 21, 21))
    assert np.abs(halved[0, :, 0] - (10 + 2.5 * np.arange(21))).max() <= 1.5
    edge = extract_image_chip(image, ChipDetails((-5.0, 0.0, 15.0, 20.0), 0.0, 21, 21))
    assert (edge[:, :5] == 0).all() and (edge[:, 6:, 2] == 7).all()


def test_pyramid_down_is_dlibs_binomial_halving() -> None:
    """R2: (n − 3) // 2 pixels a side, 1-4-6-4-1 weights, sum // 256."""
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (17, 20, 3), dtype=np.uint8)
    down = pyramid_down(image)
    assert down.shape == (7, 8, 3)
    w = np.array([1, 4, 6, 4, 1])
    r, c = 3, 5
    window = image[2 * r : 2 * r + 5, 2 * c : 2 * c + 5].astype(np.int64)
    expected = np.einsum("i,j,ijk->k", w, w, window) // 256
    np.testing.assert_array_equal(down[r, c], expected)
    assert pyramid_down(image[:8]).size == 0


def test_chip_details_put_dlibs_reference_points_on_the_landmarks() -> None:
    """R2: a face whose landmarks are dlib's reference points scaled ×2 and rotated 10°
    gets a chip rectangle 2 × 150 wide, at that angle."""
    from adapters.engine.dlib_chip import DLIB5_CHIP_POINTS

    reference = (0.25 + np.asarray(DLIB5_CHIP_POINTS)) / 1.5 * 150
    angle = np.deg2rad(10)
    rot = 2 * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    details = face_chip_details(reference @ rot.T + [40, 30])
    assert details.angle == pytest.approx(angle)
    assert details.rect[2] - details.rect[0] + 1 == pytest.approx(300)
    with pytest.raises(ValueError):
        face_chip_details(reference[:4])
