"""Aligned face chips from 5 detector landmarks, mirrored chips, and upper-torso boxes.

Enrolment and matching must use the *same* alignment: a change of method, template or size
changes the templates, so the engine folds ``AlignmentConfig`` into its ``model_id``.

Methods (``AlignmentConfig.method``):

- ``"template5"``: least-squares similarity (rotation, uniform scale, translation; no
  reflection; Umeyama 1991) of all 5 points onto the template, optionally weighted.
- ``"eyes_mouth"``: the same fit on 3 points: the two eye centres and the mouth centre (the
  midpoint of the mouth corners), against the template's corresponding points. The nose tip,
  which moves most with yaw and pitch, is left out.
- ``"eyes"``: the exact similarity that puts the two eye centres on the template's eyes
  (classic eye-line alignment; most sensitive to yaw).

The default template is the one fitted on ordinary photos for dlib's 150×150 ResNet input
(face-models.md). Another embedder, e.g. the 112×112 ArcFace template, is a config change.
"""

from __future__ import annotations

from typing import Literal

import cv2
import msgspec
import numpy as np
import numpy.typing as npt

from kernel.frames import Image

Method = Literal["template5", "eyes_mouth", "eyes"]

DLIB150_TEMPLATE: tuple[tuple[float, float], ...] = (
    (46.4, 46.1),
    (103.8, 44.7),
    (73.5, 78.8),
    (51.2, 106.5),
    (99.7, 105.1),
)
"""Image-left eye, image-right eye, nose tip, image-left and image-right mouth corner."""

ARCFACE112_TEMPLATE: tuple[tuple[float, float], ...] = (
    (38.2946, 51.6963),
    (73.5318, 51.5014),
    (56.0252, 71.7366),
    (41.5493, 92.3655),
    (70.7299, 92.2041),
)
"""The standard 112×112 ArcFace template, same point order."""


class AlignmentConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How a chip is cut: method, template (5 points, chip pixels) and chip size.

    ``weights`` (5 values, ``template5`` only) weight each point in the least-squares fit;
    ``None`` weighs them equally.
    """

    method: Method = "eyes_mouth"
    width: int = 150
    height: int = 150
    template: tuple[tuple[float, float], ...] = DLIB150_TEMPLATE
    weights: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if len(self.template) != 5 or any(len(p) != 2 for p in self.template):
            raise ValueError("template must hold 5 (x, y) points")
        if self.weights is not None and (
            len(self.weights) != 5 or min(self.weights) < 0 or sum(self.weights) <= 0
        ):
            raise ValueError("weights must be 5 non-negative values, not all zero")
        if self.width < 16 or self.height < 16:
            raise ValueError("chip must be at least 16×16")


def umeyama(
    src: npt.ArrayLike, dst: npt.ArrayLike, weights: npt.ArrayLike | None = None
) -> npt.NDArray[np.float64]:
    """The (weighted) least-squares similarity mapping ``src`` points onto ``dst``, as 2×3.

    Rotation is proper (no reflection), so a mirrored face is not "corrected" by flipping it.
    """
    s = np.asarray(src, dtype=np.float64).reshape(-1, 2)
    d = np.asarray(dst, dtype=np.float64).reshape(-1, 2)
    if s.shape != d.shape or s.shape[0] < 2:
        raise ValueError("need at least two matching point pairs")
    w = np.ones(len(s)) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    mu_s = w @ s
    mu_d = w @ d
    sc = s - mu_s
    dc = d - mu_d
    var_s = float(w @ np.sum(sc * sc, axis=1))
    if var_s <= 1e-12:
        raise ValueError("source points coincide")
    cov = (dc * w[:, None]).T @ sc
    u, sig, vt = np.linalg.svd(cov)
    fix = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        fix[1, 1] = -1.0
    rot = u @ fix @ vt
    scale = float(np.sum(sig * np.diag(fix))) / var_s
    out = np.empty((2, 3))
    out[:, :2] = scale * rot
    out[:, 2] = mu_d - scale * rot @ mu_s
    return out


def _eyes_mouth(points: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.stack([points[0], points[1], (points[3] + points[4]) / 2])


def estimate_transform(
    landmarks: npt.ArrayLike, config: AlignmentConfig | None = None
) -> npt.NDArray[np.float64]:
    """The 2×3 matrix taking image pixels to chip pixels for these (5, 2) landmarks."""
    cfg = config or AlignmentConfig()
    pts = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    tpl = np.asarray(cfg.template, dtype=np.float64)
    if cfg.method == "template5":
        return umeyama(pts, tpl, cfg.weights)
    if cfg.method == "eyes_mouth":
        return umeyama(_eyes_mouth(pts), _eyes_mouth(tpl))
    if cfg.method == "eyes":
        return umeyama(pts[:2], tpl[:2])
    raise ValueError(f"unknown alignment method {cfg.method!r}")


def warp(image: Image, matrix: npt.NDArray[np.float64], width: int, height: int) -> Image:
    """Cut a ``width``×``height`` chip out of ``image`` with a similarity ``matrix``.

    Bilinear, black outside the image. When the face is shrunk (a face wider than the chip's
    face), the region is first reduced to the chip's scale with area averaging, so the chip does
    not alias (dlib halves the image for large faces for the same reason) and a face looks the
    same whatever its size in the photo.
    """
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    m = matrix.copy()
    src: Image = image
    if scale < 1.0:
        # Only the part of the image that lands in the chip needs reducing.
        inv = cv2.invertAffineTransform(m)
        corners = np.array([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1]], float)
        mapped = corners @ inv.T
        x0 = max(0, int(np.floor(mapped[:, 0].min())) - 2)
        y0 = max(0, int(np.floor(mapped[:, 1].min())) - 2)
        x1 = min(image.shape[1], int(np.ceil(mapped[:, 0].max())) + 2)
        y1 = min(image.shape[0], int(np.ceil(mapped[:, 1].max())) + 2)
        if x1 - x0 >= 2 and y1 - y0 >= 2:
            roi = image[y0:y1, x0:x1]
            new_w = max(1, round((x1 - x0) * scale))
            new_h = max(1, round((y1 - y0) * scale))
            src = np.asarray(
                cv2.resize(roi, (new_w, new_h), interpolation=cv2.INTER_AREA), dtype=np.uint8
            )
            fx = new_w / (x1 - x0)
            fy = new_h / (y1 - y0)
            # q, a pixel of the reduced region, is p = (q + 0.5) / f - 0.5 + origin
            m[:, 0] = matrix[:, 0] / fx
            m[:, 1] = matrix[:, 1] / fy
            m[:, 2] = matrix[:, 2] + matrix[:, 0] * x0 + matrix[:, 1] * y0
            m[:, 2] += (matrix[:, 0] * (0.5 / fx - 0.5)) + (matrix[:, 1] * (0.5 / fy - 0.5))
    chip = cv2.warpAffine(
        src,
        m,
        (width, height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0),
    )
    return np.ascontiguousarray(chip, dtype=np.uint8)


def align(image: Image, landmarks: npt.ArrayLike, config: AlignmentConfig | None = None) -> Image:
    """The aligned RGB chip (``config.height``×``config.width``×3 uint8) of one face."""
    cfg = config or AlignmentConfig()
    return warp(image, estimate_transform(landmarks, cfg), cfg.width, cfg.height)


def mirror(chip: Image) -> Image:
    """The chip flipped left–right; its descriptor, added to the original's, helps matching."""
    return np.ascontiguousarray(chip[:, ::-1])
