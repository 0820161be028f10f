"""A synthetic walk-past: people's head-and-shoulders cut from photos, composited onto a
corridor, walking towards the camera (growing, drifting sideways), a few at a time.

Only photos that may be redistributed ship with the repo (public-domain White House photos in
``demo/faces``); a caller may add more walkers from local data. The evaluation's
development clips (:mod:`evaluation.walkpast_clips`) are drawn by the same code,
and :func:`face_box_at` says where each walker's face is in any frame (their ground truth).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import msgspec
import numpy as np
import numpy.typing as npt
from PIL import Image as PILImage
from PIL import ImageOps

from kernel.frames import Image

DEMO_FACES = Path(__file__).resolve().parent / "faces"


class Walker(msgspec.Struct, frozen=True):
    """One person's walk: a sprite (RGBA head and shoulders), when they enter, how long they
    take, and where they walk (fractions of the frame width)."""

    name: str
    sprite: npt.NDArray[np.uint8]
    face_width: float
    """Width of the face inside the sprite, in sprite pixels."""
    start_s: float
    duration_s: float
    x_from: float
    x_to: float
    face_box: tuple[float, float, float, float] | None = None
    """The face inside the sprite (x1, y1, x2, y2, sprite pixels). When known, the walker is
    placed by its face (a sprite cut from a tight crop is clipped, so its face is off-centre);
    None keeps the older placement by the sprite's centre."""


class Placement(msgspec.Struct, frozen=True):
    """Where a walker's sprite lands in one frame: its top-left corner and drawn size."""

    x: int
    y: int
    width: int
    height: int
    face_px: float
    """Width of the face as drawn."""


LANES = ((0.30, 0.22), (0.62, 0.75), (0.45, 0.40), (0.55, 0.62))
"""Walking lines (fractions of the frame width at the start and end of a walk)."""


def load_photo(path: Path) -> Image:
    with PILImage.open(path) as img:
        return np.ascontiguousarray(np.asarray(ImageOps.exif_transpose(img).convert("RGB")))


def make_sprite(photo: Image, face_box: Sequence[float]) -> tuple[npt.NDArray[np.uint8], float]:
    """Cut head and shoulders around ``face_box`` with a soft oval alpha; return (RGBA, face
    width in sprite pixels)."""
    sprite, box = cut_sprite(photo, face_box)
    return sprite, box[2] - box[0]


def cut_sprite(
    photo: Image, face_box: Sequence[float]
) -> tuple[npt.NDArray[np.uint8], tuple[float, float, float, float]]:
    """:func:`make_sprite`, returning the face box inside the sprite (sprite pixels)."""
    x1, y1, x2, y2 = (float(v) for v in face_box)
    fw, fh = x2 - x1, y2 - y1
    h, w = photo.shape[:2]
    cx = (x1 + x2) / 2
    sx1, sx2 = int(max(0, cx - 1.4 * fw)), int(min(w, cx + 1.4 * fw))
    sy1, sy2 = int(max(0, y1 - 0.6 * fh)), int(min(h, y2 + 1.6 * fh))
    cut = photo[sy1:sy2, sx1:sx2]
    ch, cw = cut.shape[:2]
    yy, xx = np.mgrid[0:ch, 0:cw].astype(np.float32)
    # An oval for the head on top of a wide rounded block for the shoulders.
    head = ((xx - (cx - sx1)) / (0.75 * fw)) ** 2 + ((yy - ((y1 + y2) / 2 - sy1)) / (0.8 * fh)) ** 2
    shoulders = (yy > (y2 - sy1) + 0.2 * fh) & (
        np.abs(xx - (cx - sx1)) < 1.35 * fw * np.clip((yy - (y2 - sy1)) / (0.6 * fh), 0.2, 1.0)
    )
    mask = np.where((head <= 1.0) | shoulders, 255, 0).astype(np.uint8)
    alpha = cv2.GaussianBlur(mask, (0, 0), max(1.0, fw / 40))
    return np.dstack([cut, alpha]), (x1 - sx1, y1 - sy1, x2 - sx1, y2 - sy1)


def background(width: int, height: int, seed: int = 7) -> Image:
    """A corridor: floor and walls converging on a vanishing point, with a little texture."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 70 + 80 * (yy / height)
    img = np.dstack([base * 0.95, base * 0.9, base * 0.85])
    vx, vy = width / 2, height * 0.35
    floor = yy > vy + np.abs(xx - vx) * 0.45
    img[floor] = img[floor] * 0.7 + np.array([40, 35, 30], np.float32)
    stripes = (((xx - vx) / np.maximum(yy - vy + 1, 1)) * 6).astype(int) % 2 == 0
    img[floor & stripes] *= 0.92
    img += rng.normal(0, 4, img.shape).astype(np.float32)
    out: Image = np.clip(img, 0, 255).astype(np.uint8)
    return out


def place(walker: Walker, t: float, width: int, height: int,
          face_px: tuple[float, float] | None = None) -> Placement | None:
    """Where ``walker`` is drawn at time ``t`` (None when not in view). Faces grow from
    ``face_px[0]`` to ``face_px[1]`` pixels wide (default 4 % → 14 % of the frame width); a
    sprite smaller than that is scaled up (an LFW crop's face is ~90 px)."""
    if not walker.start_s <= t < walker.start_s + walker.duration_s:
        return None
    p = (t - walker.start_s) / walker.duration_s
    ease = p * p * (3 - 2 * p)
    lo, hi = face_px if face_px is not None else (width * 0.04, width * 0.14)
    face = lo + (hi - lo) * ease
    scale = face / walker.face_width
    h, w = walker.sprite.shape[:2]
    sw, sh = max(2, int(w * scale)), max(2, int(h * scale))
    cx = width * (walker.x_from + (walker.x_to - walker.x_from) * ease)
    cx += math.sin(p * 12) * face * 0.05  # a little sway of the gait
    eye_line = height * (0.30 + 0.12 * ease)
    if walker.face_box is None:
        left, top = cx - sw / 2, eye_line - 0.6 * face
    else:
        fx1, fy1, fx2, _ = walker.face_box
        left = cx - (fx1 + fx2) / 2 * sw / w
        top = eye_line - fy1 * sh / h
    return Placement(int(left), int(top), sw, sh, face)


def face_box_at(walker: Walker, placement: Placement) -> tuple[float, float, float, float]:
    """The walker's face box in the frame (x1, y1, x2, y2) for a :func:`place` result."""
    h, w = walker.sprite.shape[:2]
    fb = walker.face_box or (w / 2 - walker.face_width / 2, 0.6 * walker.face_width,
                             w / 2 + walker.face_width / 2, 1.6 * walker.face_width)
    sx, sy = placement.width / w, placement.height / h
    return (placement.x + fb[0] * sx, placement.y + fb[1] * sy,
            placement.x + fb[2] * sx, placement.y + fb[3] * sy)


def _paste(frame: Image, sprite: npt.NDArray[np.uint8], at: Placement) -> None:
    w = sprite.shape[1]
    sw, sh = at.width, at.height
    # Area averaging to shrink; bilinear to enlarge (area sampling blocks up a small crop).
    interpolation = cv2.INTER_AREA if sw < w else cv2.INTER_LINEAR
    resized = cv2.resize(sprite, (sw, sh), interpolation=interpolation)
    x1, y1 = at.x, at.y
    fx1, fy1 = max(0, x1), max(0, y1)
    fx2, fy2 = min(frame.shape[1], x1 + sw), min(frame.shape[0], y1 + sh)
    if fx2 <= fx1 or fy2 <= fy1:
        return
    part = resized[fy1 - y1 : fy2 - y1, fx1 - x1 : fx2 - x1].astype(np.float32)
    alpha = part[..., 3:4] / 255.0
    region = frame[fy1:fy2, fx1:fx2].astype(np.float32)
    frame[fy1:fy2, fx1:fx2] = (part[..., :3] * alpha + region * (1 - alpha)).astype(np.uint8)


def render(walkers: Sequence[Walker], seconds: float, fps: int = 25, width: int = 1280,
           height: int = 720, face_px: tuple[float, float] | None = None) -> Iterator[Image]:
    """The clip's frames, RGB. Faces grow from ~4 % to ~14 % of the frame width, or over
    ``face_px`` (pixels) when given."""
    bg = background(width, height)
    for i in range(int(seconds * fps)):
        t = i / fps
        frame = bg.copy()
        active = [w for w in walkers if w.start_s <= t < w.start_s + w.duration_s]
        # Nearer people (further along) are drawn last, over the ones behind them.
        for walker in sorted(active, key=lambda w: (t - w.start_s) / w.duration_s):
            at = place(walker, t, width, height, face_px)
            if at is not None:
                _paste(frame, walker.sprite, at)
        yield frame


def schedule(sprites: Sequence[tuple[str, npt.NDArray[np.uint8], float]], gap_s: float = 1.6,
             duration_s: float = 4.0) -> list[Walker]:
    """Walkers entering one after another, alternating sides of the corridor."""
    return [
        Walker(name, sprite, fw, i * gap_s, duration_s, *LANES[i % len(LANES)])
        for i, (name, sprite, fw) in enumerate(sprites)
    ]
