"""``pinchpoint models build|verify``: the model store's command group (entry point ``models``)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from adapters.engine import model_store
from kernel.cli.common import DATA_HELP, data_root
from modelkit import build

#: Used when ``--models-dir`` is not given (relative to the current directory).
DEFAULT_MODELS_DIR = Path("var/models")
#: The converted model must match dlib to this (largest absolute difference of a value).
DLIB_TOLERANCE = 1e-4


def _default_photo_dirs() -> list[Path]:
    from demo.walkpast import DEMO_FACES

    return [
        DEMO_FACES,  # public-domain copies in the repo
        data_root() / "public-domain",
    ]


def _print_manifest(models_dir: Path, manifest: model_store.ModelManifest) -> None:
    width = max((len(entry.name) for entry in manifest.files), default=0)
    for entry in manifest.files:
        print(
            f"  {entry.name:{width}} {entry.size / 1e6:6.1f} MB  sha256 {entry.sha256[:16]}  "
            f"from {entry.source_package} {entry.source_version} ({entry.licence})"
        )
    print(f"  manifest: {models_dir / model_store.MANIFEST_NAME}")


def _check_dlib(models_dir: Path, photos: Path | None) -> int:
    from modelkit import dlib_reference

    if not dlib_reference.dlib_available():
        print("--check-dlib: dlib is not installed (pip install dlib-bin); not checked",
              file=sys.stderr)
        return 1
    dirs = [photos] if photos is not None else _default_photo_dirs()
    images = sorted(p for d in dirs if d.is_dir() for p in d.glob("*.jpg"))
    faces = dlib_reference.dlib_face_chips(images)
    if len(faces) == 0:
        print("--check-dlib: no photos with faces found; checking on noise chips only",
              file=sys.stderr)
    chips = np.concatenate([faces, dlib_reference.noise_chips(2)])
    diff = dlib_reference.max_abs_diff_vs_dlib(models_dir / model_store.RESNET_NAME, chips)
    verdict = "OK" if diff <= DLIB_TOLERANCE else "MISMATCH"
    print(f"dlib check: {len(faces)} faces + 2 noise chips, max abs diff {diff:.3g} "
          f"(tolerance {DLIB_TOLERANCE:g}): {verdict}")
    return 0 if diff <= DLIB_TOLERANCE else 1


def _cmd_build(args: argparse.Namespace) -> int:
    models_dir: Path = args.models_dir
    started = time.perf_counter()
    manifest = build.build_models(models_dir, force=args.force)
    print(f"model store {models_dir}: ready in {time.perf_counter() - started:.1f} s")
    _print_manifest(models_dir, manifest)
    if args.check_dlib:
        return _check_dlib(models_dir, args.photos)
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    models_dir: Path = args.models_dir
    # A ModelError propagates: the CLI prints its message and exits with its code (3).
    manifest = model_store.verify_models(models_dir)
    print(f"model store {models_dir}: all files match their checksums")
    _print_manifest(models_dir, manifest)
    return 0


def register(subparsers: Any) -> None:
    """Add ``models build`` and ``models verify`` to the ``pinchpoint`` command line."""
    models = subparsers.add_parser("models", help="build or verify the model files (offline)")
    actions = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    build = actions.add_parser(
        "build", help="convert and copy the models from installed packages into the store"
    )
    build.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR, metavar="DIR",
                       help=f"model store directory (default: {DEFAULT_MODELS_DIR})")
    build.add_argument("--force", action="store_true",
                       help="rebuild even when the store is up to date")
    build.add_argument("--check-dlib", action="store_true",
                       help="compare the converted recognizer with dlib (needs dlib-bin)")
    build.add_argument("--photos", type=Path, default=None, metavar="DIR",
                       help="photos for --check-dlib (default: the demo faces and public-domain/ "
                       f"in {DATA_HELP})")
    build.set_defaults(handler=_cmd_build)

    verify = actions.add_parser("verify", help="check the model files against models.json")
    verify.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR, metavar="DIR",
                        help=f"model store directory (default: {DEFAULT_MODELS_DIR})")
    verify.set_defaults(handler=_cmd_verify)
