"""engine.onnx with ``alignment.method = "dlib5"``: landmarker from the model store, loaded
once, part of the model identity; the live path cuts dlib's chips (R2)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import msgspec
import numpy as np
import pytest
from PIL import Image

from adapters.engine.alignment import AlignmentConfig, align
from adapters.engine.model_store import SHAPE_PREDICTOR_NAME, read_manifest
from adapters.engine.onnx import OnnxEngineConfig
from adapters.engine.second_embedder import SecondEmbedderSettings
from evaluation.pipeline import make_engine
from kernel.protocols.engine import Purpose


def test_dlib5_engine_loads_the_landmarker_from_the_store_once(models_dir: Path) -> None:
    engine = make_engine(models_dir, alignment="dlib5")
    assert engine.shape_predictor is not None and engine.shape_predictor.parts == 5
    # A second engine (EngineVariants makes several) shares the parsed copy.
    assert make_engine(models_dir, alignment="dlib5").shape_predictor is engine.shape_predictor
    assert make_engine(models_dir, alignment="eyes_mouth").shape_predictor is None


def test_the_alignment_method_and_landmarker_are_part_of_the_model_id(models_dir: Path) -> None:
    """R2: templates cut by another alignment are never compared; the model id of the other
    methods is what it was before dlib5 existed."""
    # The identity before a second recognizer existed holds with it off (weight 0).
    alone = OnnxEngineConfig(second_embedder=SecondEmbedderSettings(weight=0.0))
    dlib5 = make_engine(models_dir, alignment="dlib5", config=alone)
    eyes_mouth = make_engine(models_dir, alignment="eyes_mouth", config=alone)
    assert dlib5.model_id != eyes_mouth.model_id
    manifest = read_manifest(models_dir)
    emb = manifest.file(eyes_mouth.config.embedder.file)
    landmarker = manifest.file(SHAPE_PREDICTOR_NAME)
    assert emb is not None and landmarker is not None
    cfg = eyes_mouth.config
    legacy = msgspec.json.encode([emb.sha256, cfg.alignment, cfg.embedder.mirror,
                                  cfg.embedder.normalise])
    assert eyes_mouth.model_id == "onnx-" + hashlib.sha256(legacy).hexdigest()[:16]
    with_landmarker = msgspec.json.encode([emb.sha256, dlib5.config.alignment,
                                           cfg.embedder.mirror, cfg.embedder.normalise,
                                           landmarker.sha256])
    assert dlib5.model_id == "onnx-" + hashlib.sha256(with_landmarker).hexdigest()[:16]


def test_live_detections_are_embedded_from_dlib5_chips(models_dir: Path,
                                                       public_domain_faces: Path) -> None:
    """A live detection carries the cheap eyes_mouth view (what the live gate measures);
    dlib's landmarker and chip wait until the tracker embeds it."""
    # The first model's chip alone (the second recognizer's slot: test_second_embedder.py).
    alone = OnnxEngineConfig(second_embedder=SecondEmbedderSettings(weight=0.0))
    engine = make_engine(models_dir, alignment="dlib5", config=alone)
    with Image.open(public_domain_faces / "obama.jpg") as img:
        image = np.ascontiguousarray(np.asarray(img.convert("RGB")))
    (live,) = engine.detect_sync(image, Purpose.LIVE)
    assert not live.complete and live.chip.shape == (150, 150, 3)
    np.testing.assert_array_equal(live.chip, align(image, live.landmarks,
                                                   AlignmentConfig(method="eyes_mouth")))
    face = msgspec.structs.replace(live, chip=engine.complete_chip_sync(image, live),
                                   complete=True)
    expected = align(image, face.landmarks, AlignmentConfig(method="dlib5"), box=face.box,
                     predictor=engine.shape_predictor)
    np.testing.assert_array_equal(face.chip, expected)
    # Not the template chip: another alignment.
    assert np.abs(live.chip.astype(np.int16) - face.chip).mean() > 5
    np.testing.assert_allclose(engine.embed_faces_sync([(image, live)]),
                               engine.embed_sync([face.chip]), atol=1e-6)
    template = engine.embed_sync([face.chip])
    assert template.shape == (1, engine.dim)
    assert np.linalg.norm(template) == pytest.approx(1.0, abs=1e-5)
