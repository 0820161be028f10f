"""Enrolment templates from jittered re-cuts of the chip (``embedder.enrol_jitter``, R10)."""

from __future__ import annotations

from pathlib import Path

import msgspec
import numpy as np
import pytest
from PIL import Image

from adapters.engine.jitter import JITTER_SEED, jitter
from adapters.engine.onnx import OnnxEngine, OnnxEngineConfig
from adapters.engine.second_embedder import SecondEmbedderSettings
from kernel.protocols.engine import Purpose
from kernel.testing.camera_contract import make_context


def _engine(models_dir: Path, count: int) -> OnnxEngine:
    # Jitter moves the first model's views; the engine refuses it with a second recognizer.
    base = OnnxEngineConfig(models_dir=str(models_dir),
                            second_embedder=SecondEmbedderSettings(weight=0.0))
    cfg = msgspec.structs.replace(
        base, embedder=msgspec.structs.replace(base.embedder, enrol_jitter=count))
    return OnnxEngine(cfg, make_context("jitter"))


def _chip(engine: OnnxEngine, public_domain_faces: Path, name: str) -> np.ndarray:
    with Image.open(public_domain_faces / name) as img:
        image = np.ascontiguousarray(np.asarray(img.convert("RGB")))
    (face,) = engine.detect_sync(image, Purpose.ENROL)
    return face.chip


def test_jitter_moves_the_face_slightly_and_every_view_alike() -> None:
    rng = np.random.default_rng(0)
    view = rng.integers(0, 255, (150, 150, 3), dtype=np.uint8)
    chip = np.concatenate([view, view], axis=1)
    out = jitter(chip, 150, np.random.default_rng(JITTER_SEED))
    assert out.shape == chip.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[:, :150], out[:, 150:])  # the same re-cut in each view
    assert not np.array_equal(out, chip)
    again = jitter(chip, 150, np.random.default_rng(JITTER_SEED))
    np.testing.assert_array_equal(out, again)  # seeded: reproducible


def test_enrolment_template_is_reproducible_and_stays_the_persons(
    models_dir: Path, public_domain_faces: Path
) -> None:
    """The same photo gives the same template on every enrolment (audit, re-enrolment); the
    jittered mean stays closer to the same person's other photo than to someone else."""
    plain, jittered = _engine(models_dir, 0), _engine(models_dir, 10)
    chip = _chip(plain, public_domain_faces, "obama.jpg")
    one = jittered.enrol_template_sync(chip)
    np.testing.assert_array_equal(one, jittered.enrol_template_sync(chip))
    assert float(np.linalg.norm(one)) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_array_equal(plain.enrol_template_sync(chip), plain.embed_sync([chip])[0])
    assert not np.array_equal(one, plain.embed_sync([chip])[0])
    same = plain.embed_sync([_chip(plain, public_domain_faces, "obama2.jpg")])[0]
    other = plain.embed_sync([_chip(plain, public_domain_faces, "biden.jpg")])[0]
    assert float(one @ same) > float(one @ other) + 0.03


def test_enrolment_goes_through_the_jittered_template(
    models_dir: Path, public_domain_faces: Path
) -> None:
    engine = _engine(models_dir, 10)
    data = (public_domain_faces / "obama.jpg").read_bytes()
    enrolled = engine.enrol_sync(data)
    assert enrolled.rejection is None and enrolled.embedding is not None
    assert enrolled.chip is not None
    np.testing.assert_array_equal(enrolled.embedding, engine.enrol_template_sync(enrolled.chip))


@pytest.mark.parametrize("value", [-1, 65, 2.5, "ten", True])
def test_enrol_jitter_out_of_range_is_refused_naming_the_key(value: object) -> None:
    raw = msgspec.json.encode({"embedder": {"enrol_jitter": value}})
    with pytest.raises(msgspec.ValidationError, match="enrol_jitter"):
        msgspec.json.decode(raw, type=OnnxEngineConfig)
