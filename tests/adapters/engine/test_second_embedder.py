"""engine.onnx with the second recognizer (``engine.second_embedder``, on by default): its
chip travels in one more view slot, the template fuses both models onto the first model's
score scale, the live path gives the enrolment path's template, and bad settings are refused
naming what is wrong (R2)."""

from __future__ import annotations

from pathlib import Path

import msgspec
import numpy as np
import pytest
from PIL import Image

from adapters.engine.alignment import estimate_transform, views, warp
from adapters.engine.onnx import OnnxEngine, OnnxEngineConfig
from adapters.engine.second_embedder import ARCFACE112, SecondEmbedderSettings
from evaluation.pipeline import make_engine
from kernel.errors import ModelError
from kernel.protocols.engine import Purpose

ALONE = OnnxEngineConfig(second_embedder=SecondEmbedderSettings(weight=0.0))
ONLY_SECOND = OnnxEngineConfig(second_embedder=SecondEmbedderSettings(weight=1.0))


def _photo(public_domain_faces: Path, name: str) -> np.ndarray:
    with Image.open(public_domain_faces / name) as img:
        return np.ascontiguousarray(np.asarray(img.convert("RGB")))


def test_the_chip_carries_the_second_models_own_cut_in_one_more_slot(
    models_dir: Path, public_domain_faces: Path
) -> None:
    engine = make_engine(models_dir)
    image = _photo(public_domain_faces, "obama.jpg")
    (face,) = engine.detect_sync(image, Purpose.ENROL)
    assert face.complete and face.chip.shape == (150, 300, 3)
    slot = views(face.chip, 150)[1]
    expected = warp(image, estimate_transform(face.landmarks, ARCFACE112), 112, 112)
    np.testing.assert_array_equal(slot[:112, :112], expected)
    assert not slot[112:].any() and not slot[:, 112:].any()
    # The first view is the first model's, unchanged by the second's presence.
    (alone,) = make_engine(models_dir, config=ALONE).detect_sync(image, Purpose.ENROL)
    np.testing.assert_array_equal(face.chip[:, :150], alone.chip)


def test_the_fused_score_is_the_weighted_mean_of_both_models_mapped_onto_the_first_scale(
    models_dir: Path, public_domain_faces: Path
) -> None:
    engine = make_engine(models_dir)
    first = make_engine(models_dir, config=ALONE)
    second = make_engine(models_dir, config=ONLY_SECOND)
    names = ("obama.jpg", "obama3.jpg", "biden.jpg")
    chips = [engine.detect_sync(_photo(public_domain_faces, n), Purpose.ENROL)[0].chip
             for n in names]
    fused = engine.embed_sync(chips)
    assert fused.shape == (3, engine.dim) and engine.dim == 128 + 512 + 1
    np.testing.assert_allclose(np.linalg.norm(fused, axis=1), 1.0, atol=1e-5)
    a = first.embed_sync([c[:, :150] for c in chips])
    beta, w = 0.16, 0.5
    # weight 1 keeps the first model's slots in the chip but gives it no say in the score:
    # its template is the second model's descriptor (scaled by √β) and the constant
    b = second.embed_sync(chips)[:, 128:640] / np.sqrt(beta)
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    for i, j in ((0, 1), (0, 2), (1, 2)):
        mean = (1 - w) * float(a[i] @ a[j]) + w * float(b[i] @ b[j])
        assert float(fused[i] @ fused[j]) == pytest.approx(1 - beta * (1 - mean), abs=1e-5)
    # The same person scores over another person on both models and fused.
    assert fused[0] @ fused[1] > fused[0] @ fused[2] and b[0] @ b[1] > b[0] @ b[2]


def test_a_live_detection_embeds_to_the_enrolment_paths_template(
    models_dir: Path, public_domain_faces: Path
) -> None:
    engine = make_engine(models_dir)
    image = _photo(public_domain_faces, "obama.jpg")
    (live,) = engine.detect_sync(image, Purpose.LIVE)
    assert not live.complete and live.chip.shape == (150, 150, 3)
    (enrol,) = engine.detect_sync(image, Purpose.ENROL)
    np.testing.assert_allclose(engine.embed_faces_sync([(image, live)]),
                               engine.embed_sync([enrol.chip]), atol=1e-5)
    with pytest.raises(ValueError, match="not the 2 view"):
        engine.embed_sync([live.chip])


def test_the_second_model_is_part_of_the_model_id_and_weight_zero_is_the_first_alone(
    models_dir: Path,
) -> None:
    fused = make_engine(models_dir)
    alone = make_engine(models_dir, config=ALONE)
    assert alone.dim == 128 and fused.model_id != alone.model_id
    other_weight = OnnxEngineConfig(second_embedder=SecondEmbedderSettings(weight=0.3))
    assert make_engine(models_dir, config=other_weight).model_id != fused.model_id


def _with(models_dir: Path, **second: object) -> OnnxEngine:
    settings = msgspec.convert(second, SecondEmbedderSettings)
    return make_engine(models_dir, config=OnnxEngineConfig(second_embedder=settings))


def test_a_second_model_with_the_wrong_checksum_or_missing_is_refused(
    models_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(ModelError, match="config expects"):
        copy = tmp_path / "copy.onnx"
        copy.write_bytes((models_dir / "faceplugin_fr_feature.onnx").read_bytes())
        _with(models_dir, file=str(copy), sha256="0" * 64)
    with pytest.raises(ModelError, match="missing"):
        _with(models_dir, file=str(tmp_path / "absent.onnx"))


def test_settings_that_cannot_work_are_refused_naming_the_key(models_dir: Path) -> None:
    big = {"method": "eyes_mouth", "width": 160, "height": 160}
    with pytest.raises(ModelError, match="larger than the 150×150 view slots"):
        _with(models_dir, alignment=big)
    with pytest.raises(msgspec.ValidationError, match="dlib5"):
        msgspec.convert({"alignment": {"method": "dlib5"}}, SecondEmbedderSettings)
    with pytest.raises(msgspec.ValidationError, match=r"second_embedder\.weight"):
        msgspec.convert({"second_embedder": {"weight": 1.5}}, OnnxEngineConfig)
    with pytest.raises(msgspec.ValidationError, match=r"descriptor_share"):
        msgspec.convert({"second_embedder": {"descriptor_share": 0.0}}, OnnxEngineConfig)
    base = OnnxEngineConfig()
    jitter = msgspec.structs.replace(
        base, embedder=msgspec.structs.replace(base.embedder, enrol_jitter=2))
    with pytest.raises(ModelError, match="enrol_jitter"):
        make_engine(models_dir, config=jitter)
    raw = msgspec.structs.replace(
        base, embedder=msgspec.structs.replace(base.embedder, normalise=False))
    with pytest.raises(ModelError, match="normalise"):
        make_engine(models_dir, config=raw)
