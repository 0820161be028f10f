"""dlib's face chip (``get_face_chip_details`` + ``extract_image_chip``) in numpy.

The chips dlib's ResNet was trained on: ``get_face_chip(img, shape, size=150, padding=0.25)``
from ``shape_predictor_5`` landmarks. Re-implemented from dlib's ``interpolation.h`` and
``image_pyramid.h`` so that no dlib is needed at run time; the parity test compares it with
dlib-bin on real faces.

* **Geometry** (``get_face_chip_details``, 5-point branch): dlib's fixed reference points of
  the 5 landmarks (fractions of the chip), moved inwards by the padding, are fitted to the
  landmarks with a least-squares similarity; its rotation is the chip's angle, its scale times
  the chip size the side of the chip's rectangle in the image, centred where the chip's
  centre lands. dlib rectangles are inclusive: a rectangle ``w`` wide has corners ``w - 1``
  apart, and the chip's corner pixels (also ``size - 1`` apart) map onto those corners.
* **Sampling** (``extract_image_chips``): bilinear, in double precision, truncated to
  ``uint8``; a chip pixel is black unless all 4 of its neighbours are inside the image.
  While the chip's rectangle, halved, still has more pixels than the chip (a face region
  wider than ~2× the chip, 300 px for 150), dlib first halves the region of the image around
  it with its ``pyramid_down<2>`` (5×5 binomial blur, every other pixel, integer sums divided
  by 256 with truncation), as often as needed, and samples the halved image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from kernel.frames import Image

DLIB5_CHIP_POINTS: tuple[tuple[float, float], ...] = (
    (0.8595674595992, 0.2134981538014),
    (0.6460604764104, 0.2289674387677),
    (0.1205750620789, 0.2137274526848),
    (0.3340850613712, 0.2290642403242),
    (0.4901123135679, 0.6277975316475),
)
"""Where dlib puts ``shape_predictor_5``'s landmarks in an unpadded chip (fractions of its
side), in the model's order: image-right eye's outer and inner corner, image-left eye's outer
and inner corner, base of the nose."""

#: ``get_face_chip``'s defaults in the ``face_recognition`` library and dlib's ResNet example.
DLIB_CHIP_SIZE = 150
DLIB_CHIP_PADDING = 0.25

DRect = tuple[float, float, float, float]
"""A dlib ``drectangle`` (left, top, right, bottom), inclusive: ``right - left + 1`` wide."""


@dataclass(frozen=True, slots=True)
class ChipDetails:
    """dlib's ``chip_details``: the image rectangle a chip covers, its rotation and size."""

    rect: DRect
    angle: float  # radians; the chip's x axis is rotated by this much in the image
    rows: int
    cols: int


def _similarity(src: npt.NDArray[np.float64], dst: npt.NDArray[np.float64]
                ) -> tuple[float, float, float, float]:
    """Least-squares similarity ``dst ≈ [[a, -b], [b, a]]·src + (tx, ty)``, no reflection.

    Umeyama's solution, which dlib's ``find_similarity_transform`` computes with an SVD; in
    2-D it has this closed form (the same numbers to rounding).
    """
    ms = src.mean(axis=0)
    md = dst.mean(axis=0)
    s = src - ms
    d = dst - md
    var = float(np.sum(s * s))
    if var == 0.0:
        a, b = 1.0, 0.0
    else:
        a = float(np.sum(s[:, 0] * d[:, 0] + s[:, 1] * d[:, 1])) / var
        b = float(np.sum(s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0])) / var
    tx = float(md[0]) - (a * float(ms[0]) - b * float(ms[1]))
    ty = float(md[1]) - (b * float(ms[0]) + a * float(ms[1]))
    return a, b, tx, ty


def face_chip_details(
    landmarks: npt.ArrayLike, size: int = DLIB_CHIP_SIZE, padding: float = DLIB_CHIP_PADDING
) -> ChipDetails:
    """dlib's ``get_face_chip_details`` for 5 ``shape_predictor_5`` landmarks (5 × 2).

    dlib takes integer landmarks (its ``full_object_detection`` holds ``point``\\ s); pass
    :func:`adapters.engine.shape_predictor.dlib_points` of them to get dlib's chip exactly.
    """
    points = np.asarray(landmarks, dtype=np.float64).reshape(-1, 2)
    if points.shape != (5, 2):
        raise ValueError("need the 5 landmarks of shape_predictor_5")
    if size <= 0 or padding < 0:
        raise ValueError("size must be positive and padding non-negative")
    reference = (padding + np.asarray(DLIB5_CHIP_POINTS)) / (2 * padding + 1) * size
    a, b, tx, ty = _similarity(reference, points)
    angle = math.atan2(b, a)
    scale = math.hypot(a, b)
    # The chip's centre, (cols/2, rows/2), through the similarity.
    cx = a * (size / 2.0) - b * (size / 2.0) + tx
    cy = b * (size / 2.0) + a * (size / 2.0) + ty
    # centered_drect(p, w, h): corners (w - 1) and (h - 1) apart.
    half = (size * scale - 1) / 2
    return ChipDetails(rect=(cx - half, cy - half, cx + half, cy + half), angle=angle,
                       rows=size, cols=size)


def _area(rect: DRect) -> float:
    left, top, right, bottom = rect
    if top > bottom or left > right:
        return 0.0
    return (right - left + 1) * (bottom - top + 1)


def _rect_down(rect: DRect) -> DRect:
    """``pyramid_down<2>::rect_down``: where a rectangle lands in the halved image."""
    left, top, right, bottom = rect
    return (left / 2.0 - 1.25, top / 2.0 - 0.75, right / 2.0 - 1.25, bottom / 2.0 - 0.75)


def _round(value: float) -> int:
    """dlib's ``drectangle`` → ``rectangle`` and ``vector`` → ``point``: half up."""
    return math.floor(value + 0.5)


def _rotated_corners(rect: DRect, angle: float) -> npt.NDArray[np.float64]:
    """The rectangle's tl, tr, bl, br corners rotated by ``angle`` about its centre."""
    left, top, right, bottom = rect
    cx, cy = (left + right) / 2.0, (top + bottom) / 2.0
    cos, sin = math.cos(angle), math.sin(angle)
    out = []
    for x, y in ((left, top), (right, top), (left, bottom), (right, bottom)):
        dx, dy = x - cx, y - cy
        out.append((cos * dx - sin * dy + cx, sin * dx + cos * dy + cy))
    return np.asarray(out)


def pyramid_down(image: Image) -> Image:
    """dlib's ``pyramid_down<2>`` of an RGB (or grey) uint8 image.

    A separable 1-4-6-4-1 filter applied at every other column, then every other row, in
    integers, divided by 256 with truncation; ``(n - 3) // 2`` output rows and columns.
    """
    rows, cols = image.shape[:2]
    if rows <= 8 or cols <= 8:
        return np.zeros((0, 0, *image.shape[2:]), dtype=np.uint8)
    src = image.astype(np.int32)
    nc = (cols - 3) // 2
    nr = (rows - 3) // 2

    def taps(a: npt.NDArray[np.int32], n: int, axis: int) -> npt.NDArray[np.int32]:
        def tap(k: int) -> npt.NDArray[np.int32]:
            index = [slice(None)] * a.ndim
            index[axis] = slice(k, k + 2 * n, 2)
            return a[tuple(index)]

        result: npt.NDArray[np.int32] = tap(0) + 4 * tap(1) + 6 * tap(2) + 4 * tap(3) + tap(4)
        return result

    blurred = taps(taps(src, nc, axis=1), nr, axis=0)
    return np.ascontiguousarray(blurred // 256, dtype=np.uint8)


@lru_cache(maxsize=4)
def _grid(rows: int, cols: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    r, c = np.mgrid[0:rows, 0:cols].astype(np.float64)
    return r.ravel(), c.ravel()


def _bilinear(src: Image, corners: npt.NDArray[np.float64], rows: int, cols: int) -> Image:
    """``transform_image`` with ``interpolate_bilinear``: chip pixel (c, r) samples ``src``
    at the affine map taking the chip's tl, tr, bl corner pixels onto ``corners[:3]``.

    The arithmetic is dlib's, operation for operation in double precision, so that the
    truncation to ``uint8`` falls the same way (the parity test finds identical chips).
    Channels are processed as planes (channel-first), and pixels gathered as one 32-bit word
    each: numpy is several times slower on a trailing axis of length 3.
    """
    height, width = src.shape[:2]
    channels = src.shape[2] if src.ndim == 3 else 1
    if height < 2 or width < 2 or channels > 4:
        return np.zeros((rows, cols, *src.shape[2:]), dtype=np.uint8)
    tl, tr, bl = corners[0], corners[1], corners[2]
    ux = (tr - tl) / max(cols - 1, 1)
    uy = (bl - tl) / max(rows - 1, 1)
    r, c = _grid(rows, cols)
    x = (ux[0] * c + uy[0] * r) + tl[0]
    y = (ux[1] * c + uy[1] * r) + tl[1]
    left = np.floor(x)
    top = np.floor(y)
    inside = (left >= 0) & (top >= 0) & (left + 1 < width) & (top + 1 < height)
    index = np.where(inside, top * width + left, 0).astype(np.int64)
    words = np.zeros((height, width, 4), dtype=np.uint8)
    words[..., :channels] = src.reshape(height, width, channels)
    flat = words.view(np.uint32).reshape(height * width)

    def gather(at: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        planes = flat.take(at).view(np.uint8).reshape(-1, 4).T[:channels]
        return planes.astype(np.float64, order="C")

    lr = x - left
    tb = y - top
    inv_lr = 1 - lr
    upper = inv_lr * gather(index)
    upper += lr * gather(index + 1)
    lower = inv_lr * gather(index + width)
    lower += lr * gather(index + width + 1)
    upper *= 1 - tb
    lower *= tb
    upper += lower
    np.clip(upper, 0, 255, out=upper)
    planes = upper.astype(np.uint8)  # dlib's assign_pixel truncates
    planes[:, ~inside] = 0
    chip: Image = np.ascontiguousarray(planes.T).reshape((rows, cols, *src.shape[2:]))
    return chip


def extract_image_chip(image: Image, details: ChipDetails) -> Image:
    """dlib's ``extract_image_chip`` with bilinear interpolation (``rows × cols`` uint8)."""
    rows, cols = details.rows, details.cols
    size = rows * cols
    height, width = image.shape[:2]
    rect = details.rect
    if (details.angle == 0 and rows == rect[3] - rect[1] + 1 and cols == rect[2] - rect[0] + 1):
        # dlib's plain copy (no scaling or rotation), black outside the image.
        left, top = _round(rect[0]), _round(rect[1])
        chip = np.zeros((rows, cols, *image.shape[2:]), dtype=np.uint8)
        y0, x0 = max(top, 0), max(left, 0)
        y1, x1 = min(top + rows, height), min(left + cols, width)
        if y1 > y0 and x1 > x0:
            chip[y0 - top : y1 - top, x0 - left : x1 - left] = image[y0:y1, x0:x1]
        return chip

    # How many halvings, and the region of the image they need (grown by 2 px per level).
    down = _rect_down(rect)
    grow = 2.0
    while _area(down) > size:
        down = _rect_down(down)
        grow = grow * 2 + 2
    rotated = _rotated_corners(rect, details.angle)
    box = (max(rotated[:, 0].min() - grow, 0.0), max(rotated[:, 1].min() - grow, 0.0),
           min(rotated[:, 0].max() + grow, width - 1.0),
           min(rotated[:, 1].max() + grow, height - 1.0))
    bl, bt, br, bb = (_round(v) for v in box)
    if br < bl or bb < bt:
        return np.zeros((rows, cols, *image.shape[2:]), dtype=np.uint8)
    src: Image = image[bt : bb + 1, bl : br + 1]

    local: DRect = (rect[0] - bl, rect[1] - bt, rect[2] - bl, rect[3] - bt)
    while _area(_rect_down(local)) > size:
        src = pyramid_down(src)
        local = _rect_down(local)
    if src.size == 0:
        return np.zeros((rows, cols, *image.shape[2:]), dtype=np.uint8)
    return _bilinear(src, _rotated_corners(local, details.angle), rows, cols)


def face_chip(
    image: Image, landmarks: npt.ArrayLike, size: int = DLIB_CHIP_SIZE,
    padding: float = DLIB_CHIP_PADDING,
) -> Image:
    """dlib's ``get_face_chip(image, landmarks, size, padding)``: the aligned ``size``² chip."""
    return extract_image_chip(image, face_chip_details(landmarks, size, padding))
