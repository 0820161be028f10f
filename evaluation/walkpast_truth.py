"""The ground truth of a walk-past clip (``truth.json``): who walks past, when, and where.

Written by ``pinchpoint eval make-walkpast`` (:mod:`evaluation.walkpast_clips`),
read by ``pinchpoint eval walkpast``; the format is documented in
``docs/evaluation-walkpast.md``. Every check a hostile or mistaken file could fail is made here,
before anything runs, and raises :class:`TruthError` (one line, exit code 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from kernel.errors import PinchpointError

FORMAT = "pinchpoint-walkpast-truth/1"

Box = tuple[float, float, float, float]
NonNegative = Annotated[int, msgspec.Meta(ge=0)]
Positive = Annotated[int, msgspec.Meta(gt=0)]
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp"})


class TruthError(PinchpointError):
    """A truth file or gallery that cannot be evaluated (exit code 2, no traceback)."""

    exit_code = 2


class Pass(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One person walking past the camera once.

    ``boxes[i]`` is the face box (x1, y1, x2, y2, frame pixels) in frame ``first_frame + i``;
    ``lane`` and ``x_from``/``x_to`` (fractions of the frame width) say where they walk.
    """

    identity: str
    listed: bool
    first_frame: NonNegative
    last_frame: NonNegative
    lane: NonNegative = 0
    x_from: float = 0.0
    x_to: float = 0.0
    photo: str = ""
    """The source photo the walker was cut from (relative to the data set), for the record."""
    kind: Literal["frontal", "profile", "unknown"] = "unknown"
    upscale: float = 1.0
    """The largest factor the walker's photo was enlarged by to be drawn (1 = never)."""
    boxes: tuple[Box, ...] = ()

    def box_at(self, frame: int) -> Box | None:
        """The face box in ``frame``, or None when this pass is not in view then."""
        if not self.first_frame <= frame <= self.last_frame or not self.boxes:
            return None
        return self.boxes[frame - self.first_frame]


class Truth(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a clip shows. ``listed`` names the identities on the watch list (the gallery
    folders), including any that never walk past (the list is larger than who walks)."""

    format: str
    fps: Positive
    width: Positive
    height: Positive
    frames: Positive
    passes: tuple[Pass, ...]
    listed: tuple[str, ...] = ()
    source: str = ""
    seed: int | None = None
    clip: str = ""
    face_px: tuple[float, float] = (0.0, 0.0)
    two_in_view: float = 0.0
    """Fraction of the frames with someone in view that show two people."""


def decode_truth(data: bytes, where: str = "truth file") -> Truth:
    """Parse and check a truth file's bytes; :class:`TruthError` naming the problem."""
    try:
        truth = msgspec.json.decode(data, type=Truth)
    except msgspec.DecodeError as exc:
        raise TruthError(f"{where} is not a walk-past truth file: {exc}") from None
    check(truth, where)
    return truth


def load_truth(path: Path) -> Truth:
    """Read and check ``truth.json``."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TruthError(f"cannot read truth file {path}: {exc.strerror}") from None
    return decode_truth(data, f"truth file {path}")


def check(truth: Truth, where: str = "truth file") -> None:
    """Every pass inside the clip, with one box per frame of its span."""
    if truth.format != FORMAT:
        raise TruthError(f"{where}: format is {truth.format!r}, expected {FORMAT!r}")
    if not truth.passes:
        raise TruthError(f"{where}: no passes")
    for i, p in enumerate(truth.passes):
        if p.last_frame < p.first_frame:
            raise TruthError(f"{where}: pass {i} ends (frame {p.last_frame}) before it starts "
                             f"(frame {p.first_frame})")
        if p.last_frame >= truth.frames:
            raise TruthError(f"{where}: pass {i} runs to frame {p.last_frame}, outside the "
                             f"clip's {truth.frames} frames")
        if p.boxes and len(p.boxes) != p.last_frame - p.first_frame + 1:
            raise TruthError(f"{where}: pass {i} has {len(p.boxes)} boxes for "
                             f"{p.last_frame - p.first_frame + 1} frames")
        if not p.boxes:
            raise TruthError(f"{where}: pass {i} has no face boxes")


def gallery_photos(gallery: Path) -> dict[str, list[Path]]:
    """``GALLERY_DIR/<identity>/<photos>``: photos per identity, sorted."""
    if not gallery.is_dir():
        raise TruthError(f"gallery {gallery} is not a folder")
    out: dict[str, list[Path]] = {}
    for folder in sorted(gallery.iterdir()):
        if folder.is_dir():
            photos = sorted(f for f in folder.iterdir()
                            if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
            if photos:
                out[folder.name] = photos
    if not out:
        raise TruthError(f"gallery {gallery} holds no <identity>/<photo> folders")
    return out


def check_gallery(truth: Truth, identities: Sequence[str], gallery: Path) -> None:
    """Every listed walker (and every identity ``listed`` names) has photos in the gallery."""
    have = set(identities)
    wanted = [p.identity for p in truth.passes if p.listed] + list(truth.listed)
    missing = sorted({i for i in wanted if i not in have})
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise TruthError(f"gallery {gallery} has no photo of listed identity {missing[0]!r}"
                         f"{more}")
