"""The ONNX conversion of dlib's ResNet matches dlib itself (R2: the template step).

DONE-WHEN of the recognizer: max |ONNX − dlib| ≤ 1e-4 on real faces aligned by dlib.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from adapters.engine.dlib_format import load_resnet
from modelkit import dlib_reference
from modelkit.dlib_resnet import (
    EMBEDDING_SIZE,
    INPUT_MEAN_RGB,
    INPUT_NAME,
    OPSET,
    OUTPUT_NAME,
    expected_layer_versions,
    preprocess_rgb_chips,
    resnet_onnx_bytes,
)

TOLERANCE = 1e-4
LFW_SAMPLE = 20


@pytest.fixture(scope="module")
def model_bytes() -> bytes:
    return resnet_onnx_bytes()


@pytest.fixture(scope="module")
def session(model_bytes: bytes) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def real_chips(shared_data: Path) -> np.ndarray:
    """dlib-aligned chips of the public-domain photos and a fixed sample of lfw150."""
    if not dlib_reference.dlib_available():
        pytest.skip("dlib is not installed (pip install dlib-bin): no reference to compare with")
    photos = sorted((shared_data / "public-domain").glob("*.jpg"))
    lfw = sorted((shared_data / "lfw150" / "by_identity").glob("*/*.jpg"))
    if not photos or not lfw:
        pytest.skip(f"public-domain photos or lfw150 missing under {shared_data}")
    sample = lfw[:: max(1, len(lfw) // LFW_SAMPLE)][:LFW_SAMPLE]
    # lfw150 faces are ~80 px wide: dlib's HOG needs one upsampling to find them all.
    chips = np.concatenate([
        dlib_reference.dlib_face_chips(photos),
        dlib_reference.dlib_face_chips(sample, upsample=1),
    ])
    assert len(chips) >= 20, f"dlib found only {len(chips)} faces"
    return chips


def test_graph_contract(model_bytes: bytes) -> None:
    model = onnx.load_model_from_string(model_bytes)
    assert [o.version for o in model.opset_import] == [OPSET]
    (inp,) = model.graph.input
    (out,) = model.graph.output
    assert inp.name == INPUT_NAME and out.name == OUTPUT_NAME
    assert [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim] == [
        "N", 3, 150, 150]
    assert [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim] == [
        "N", EMBEDDING_SIZE]
    ops = [node.op_type for node in model.graph.node]
    assert ops.count("Conv") == 29 and ops.count("Pad") > 0


def test_file_structure_is_dlibs_anet_type() -> None:
    network = load_resnet()
    assert network.layer_versions == expected_layer_versions()
    assert tuple(np.float32(m) for m in network.input.mean_rgb) == tuple(
        np.float32(m) for m in INPUT_MEAN_RGB)


def test_conversion_is_deterministic(model_bytes: bytes) -> None:
    assert resnet_onnx_bytes() == model_bytes


def test_matches_dlib_on_real_faces(session: ort.InferenceSession, real_chips: np.ndarray) -> None:
    """R2: the converted recognizer gives dlib's descriptors (max abs diff ≤ 1e-4)."""
    ours = dlib_reference.onnx_descriptors(session, real_chips)
    reference = dlib_reference.dlib_descriptors(real_chips)
    assert ours.shape == (len(real_chips), EMBEDDING_SIZE)
    assert np.abs(ours - reference).max() <= TOLERANCE
    # Raw descriptors, not L2-normalised, like dlib's.
    assert not np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-3)


def test_matches_dlib_on_noise(session: ort.InferenceSession) -> None:
    if not dlib_reference.dlib_available():
        pytest.skip("dlib is not installed (pip install dlib-bin): no reference to compare with")
    chips = dlib_reference.noise_chips(2, seed=7)
    ours = dlib_reference.onnx_descriptors(session, chips)
    assert np.abs(ours - dlib_reference.dlib_descriptors(chips)).max() <= TOLERANCE


def test_batch_gives_the_same_numbers_as_single_faces(session: ort.InferenceSession) -> None:
    chips = dlib_reference.noise_chips(5, seed=3)
    batch = dlib_reference.onnx_descriptors(session, chips)
    single = np.concatenate([dlib_reference.onnx_descriptors(session, c[None]) for c in chips])
    np.testing.assert_allclose(batch, single, rtol=0, atol=1e-6)


def test_preprocessing_rejects_wrong_shapes() -> None:
    with pytest.raises(ValueError, match="RGB chips"):
        preprocess_rgb_chips(np.zeros((150, 150, 3), dtype=np.uint8))
