"""Enrolment through ``OnnxEngine.enrol_sync`` on real photos: pad and retry before refusing,
hard and soft refusals, every R10 reason with its message."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image as PILImage

from adapters.engine.enrolment import COSTS, MESSAGES, at_edge, find_subject, pad
from adapters.engine.onnx import OnnxEngine
from kernel.clock import SystemClock
from kernel.domain.thresholds import FLOOR
from kernel.executor import BoundedExecutor
from kernel.frames import Image
from kernel.protocols.adapter import AdapterContext
from kernel.protocols.engine import (
    HARD_REJECTIONS,
    SOFT_REJECTIONS,
    FaceFound,
    Purpose,
    Rejection,
)

DEMO_FACES = Path(__file__).resolve().parents[3] / "demo" / "faces"
# obama3.jpg (public domain, 1434×2333) cropped 15 % inside the detector's face box (646, 245,
# 919, 608): the tight framing of a custody photo. CenterFace finds no face in it as it is.
TIGHT_OBAMA3 = (299, 553, 686, 878)  # rows y0:y1, columns x0:x1


@pytest.fixture(scope="module")
def engine(models_dir: Path) -> OnnxEngine:
    ctx = AdapterContext(name="engine", data_dir=models_dir.parent,
                         executor=BoundedExecutor(1, 1), clock=SystemClock(),
                         log=logging.getLogger("test.enrolment"))
    return OnnxEngine(OnnxEngine.Config(models_dir=str(models_dir)), ctx)


def rgb(name: str) -> Image:
    with PILImage.open(DEMO_FACES / name) as img:
        return np.ascontiguousarray(np.asarray(img.convert("RGB")))


def jpeg(image: Image) -> bytes:
    buf = io.BytesIO()
    PILImage.fromarray(image).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def tight_crop() -> Image:
    y0, y1, x0, x1 = TIGHT_OBAMA3
    return np.ascontiguousarray(rgb("obama3.jpg")[y0:y1, x0:x1])


def test_r10_tight_crop_refused_directly_is_enrolled_after_padding(engine: OnnxEngine) -> None:
    """R10: a tightly framed photo yields its face after a padded retry, of the right person."""
    crop = tight_crop()
    assert engine.detect_sync(crop, Purpose.ENROL) == [], "the direct attempt should fail"
    result = engine.enrol_sync(jpeg(crop))
    assert result.rejection is None, result.message
    assert result.found is FaceFound.PADDED
    assert result.embedding is not None and result.quality is not None
    full = engine.enrol_sync((DEMO_FACES / "obama3.jpg").read_bytes())
    other = engine.enrol_sync((DEMO_FACES / "obama.jpg").read_bytes())
    biden = engine.enrol_sync((DEMO_FACES / "biden.jpg").read_bytes())
    assert full.found is FaceFound.DIRECT
    assert full.embedding is not None and other.embedding is not None
    assert biden.embedding is not None
    # the padded template is Obama's (over the shipped threshold with the same photo and with
    # another), not Biden's (under the R3 floor)
    assert float(result.embedding @ full.embedding) > 0.961
    assert float(result.embedding @ other.embedding) > 0.961
    assert float(result.embedding @ biden.embedding) < FLOOR


def test_r10_edge_face_is_retried_padded(engine: OnnxEngine) -> None:
    """R10: a face that touches the photo's edge is detected again with context around it."""
    crop = tight_crop()
    subject = find_subject(engine, crop)
    assert subject.face is not None and subject.found is FaceFound.PADDED
    h, w = crop.shape[:2]
    assert at_edge((0.0, 10.0, 50.0, 60.0), w, h) and not at_edge((40.0, 40.0, 150.0, 200.0), w, h)
    padded, border = pad(crop)
    assert border == round(0.25 * max(h, w))
    assert padded.shape[:2] == (h + 2 * border, w + 2 * border)
    portrait = find_subject(engine, rgb("obama.jpg"))
    assert portrait.found is FaceFound.DIRECT  # an ordinary photo is not retried


def test_r10_soft_refusal_returns_reason_measurements_cost_and_template(
        engine: OnnxEngine) -> None:
    """R10: a small face is soft-refused: reason, its message, the measurements, the measured
    cost, and the template the domain enrols if the refusal is accepted with a reason."""
    small = cv2.resize(rgb("obama.jpg"), None, fx=0.12, fy=0.12, interpolation=cv2.INTER_AREA)
    result = engine.enrol_sync(jpeg(small))
    assert result.rejection is Rejection.TOO_SMALL
    assert result.message == MESSAGES[Rejection.TOO_SMALL]
    assert result.acceptable
    assert result.quality is not None and Rejection.TOO_SMALL in result.quality.reasons
    assert result.quality.face_px < engine.config.quality.enrol.min_face_px
    assert result.cost == COSTS[Rejection.TOO_SMALL] and "TPIR" in result.cost
    assert result.embedding is not None and result.embedding.shape == (engine.dim,)


@pytest.mark.parametrize("what", ["not_an_image", "too_large", "no_face", "several_faces"])
def test_r10_hard_refusals_cannot_be_accepted(engine: OnnxEngine, what: str) -> None:
    """R10: what cannot be matched is refused hard: no template, not acceptable."""
    if what == "not_an_image":
        data = b"certainly not a photo"
    elif what == "too_large":
        data = b"\xff" * (engine.config.max_upload_bytes + 1)
    elif what == "no_face":
        rng = np.random.default_rng(3)
        data = jpeg(cv2.GaussianBlur(rng.integers(0, 255, (300, 300, 3), np.uint8), (0, 0), 3))
    else:
        a, b = rgb("obama.jpg"), rgb("biden.jpg")
        b = cv2.resize(b, (round(b.shape[1] * a.shape[0] / b.shape[0]), a.shape[0]))
        data = jpeg(np.ascontiguousarray(np.hstack([a, b])))
    result = engine.enrol_sync(data)
    assert result.rejection == Rejection(what)
    assert result.rejection in HARD_REJECTIONS
    assert result.message == MESSAGES[Rejection(what)]
    assert result.embedding is None and not result.acceptable


def test_r10_every_reason_has_a_message_and_a_kind() -> None:
    """R10: every reason keeps its sentence; each is hard or soft, never both; every soft one
    has a measured cost sentence."""
    assert set(MESSAGES) == set(Rejection)
    assert all(MESSAGES[r].endswith(".") for r in Rejection)
    assert set(Rejection) == HARD_REJECTIONS | SOFT_REJECTIONS
    assert not HARD_REJECTIONS & SOFT_REJECTIONS
    assert set(COSTS) == SOFT_REJECTIONS and all(COSTS[r] for r in SOFT_REJECTIONS)
