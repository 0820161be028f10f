"""engine.onnx with ``alignment.fuse_with``: the face cut two ways, one fused template (R2)."""

from __future__ import annotations

from pathlib import Path

import msgspec
import numpy as np
import pytest
from PIL import Image

from adapters.engine.alignment import AlignmentConfig, align, views
from adapters.engine.onnx import OnnxEngine, OnnxEngineConfig
from adapters.engine.second_embedder import SecondEmbedderSettings
from evaluation.pipeline import make_engine
from kernel.protocols.engine import Purpose

# The first model's views alone (with the second recognizer: test_second_embedder.py).
ALONE = OnnxEngineConfig(second_embedder=SecondEmbedderSettings(weight=0.0))


def _fused(models_dir: Path, mirror: bool = True) -> OnnxEngine:
    base = ALONE
    cfg = msgspec.structs.replace(
        base,
        alignment=AlignmentConfig(method="dlib5", fuse_with="eyes_mouth"),
        embedder=msgspec.structs.replace(base.embedder, mirror=mirror),
    )
    return make_engine(models_dir, config=cfg)


def _photo(public_domain_faces: Path, name: str) -> np.ndarray:
    with Image.open(public_domain_faces / name) as img:
        return np.ascontiguousarray(np.asarray(img.convert("RGB")))


def test_fused_chip_holds_both_views_and_its_template_is_their_normalised_sum(
    models_dir: Path, public_domain_faces: Path
) -> None:
    engine = _fused(models_dir)
    image = _photo(public_domain_faces, "obama.jpg")
    (face,) = engine.detect_sync(image, Purpose.ENROL)
    assert face.chip.shape == (150, 300, 3) and face.complete
    first, second = views(face.chip, 150)
    np.testing.assert_array_equal(first, align(
        image, face.landmarks, AlignmentConfig(method="dlib5"), box=face.box,
        predictor=engine.shape_predictor))
    np.testing.assert_array_equal(second, align(
        image, face.landmarks, AlignmentConfig(method="eyes_mouth")))
    dlib5 = make_engine(models_dir, alignment="dlib5", mirror=True, config=ALONE)
    eyes = make_engine(models_dir, alignment="eyes_mouth", mirror=True, config=ALONE)
    expected = dlib5.embed_sync([first])[0] + eyes.embed_sync([second])[0]
    expected /= np.linalg.norm(expected)
    (template,) = engine.embed_sync([face.chip])
    np.testing.assert_allclose(template, expected, atol=1e-5)
    assert float(np.linalg.norm(template)) == pytest.approx(1.0, abs=1e-5)


def test_live_detection_defers_dlibs_view_to_embed_faces(
    models_dir: Path, public_domain_faces: Path
) -> None:
    """A live face is cut only the template way at detection (dlib's landmarker and chip are
    most of the alignment's cost, and most live faces are never embedded); ``embed_faces``
    cuts dlib's view then, giving the same chip and template as a full cut."""
    engine = _fused(models_dir)
    image = _photo(public_domain_faces, "obama.jpg")
    (live,) = engine.detect_sync(image, Purpose.LIVE)
    (full,) = engine.detect_sync(image, Purpose.ENROL)
    assert not live.complete and live.chip.shape == (150, 150, 3)
    np.testing.assert_array_equal(live.chip, views(full.chip, 150)[1])
    np.testing.assert_array_equal(engine.complete_chip_sync(image, live), full.chip)
    np.testing.assert_allclose(engine.embed_faces_sync([(image, live)]),
                               engine.embed_sync([full.chip]), atol=1e-6)
    # The quality gate saw the same face: only sharpness is measured on a chip.
    assert (live.quality.face_px, live.quality.yaw, live.quality.score) == (
        full.quality.face_px, full.quality.yaw, full.quality.score)
    with pytest.raises(ValueError, match="embed_faces"):
        engine.embed_sync([live.chip])


def test_fused_templates_still_tell_people_apart(
    models_dir: Path, public_domain_faces: Path
) -> None:
    engine = _fused(models_dir)
    chips = []
    for name in ("obama.jpg", "obama2.jpg", "biden.jpg"):
        faces = engine.detect_sync(_photo(public_domain_faces, name), Purpose.ENROL)
        chips.append(max(faces, key=lambda f: f.box[2] - f.box[0]).chip)
    obama, obama2, biden = engine.embed_sync(chips)
    assert float(obama @ obama2) > float(obama @ biden) + 0.05


def test_fusion_is_part_of_the_model_id_and_refuses_a_method_with_itself(
    models_dir: Path,
) -> None:
    """R2: templates of a fused engine are never compared with a single view's."""
    assert _fused(models_dir).model_id != make_engine(
        models_dir, alignment="dlib5", mirror=True).model_id
    assert _fused(models_dir).model_id != _fused(models_dir, mirror=False).model_id
    with pytest.raises(ValueError, match="fuse_with"):
        AlignmentConfig(method="dlib5", fuse_with="dlib5")
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"method": "dlib5", "fuse_with": "sideways"}, AlignmentConfig)
