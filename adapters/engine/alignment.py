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
- ``"dlib5"``: dlib's own alignment, the one dlib's ResNet was trained on, without dlib: the
  detector's box is mapped to a box like dlib's HOG detector's (:func:`dlib_rect`), dlib's
  ``shape_predictor_5`` finds 5 landmarks in it (:mod:`adapters.engine.shape_predictor`) and
  dlib's ``get_face_chip(size, padding=0.25)`` cuts the chip (:mod:`adapters.engine.dlib_chip`).
  The template is not used; the detector's landmarks are not used either. It needs the
  detection box and the loaded landmarker (``align(…, box=, predictor=)``).

The default template is the one fitted on ordinary photos for dlib's 150×150 ResNet input
(face-models.md). Another embedder, e.g. the 112×112 ArcFace template, is a config change.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import cv2
import msgspec
import numpy as np
import numpy.typing as npt

from adapters.engine.dlib_chip import DLIB_CHIP_PADDING, face_chip
from adapters.engine.shape_predictor import Rect, ShapePredictor, dlib_points
from kernel.bounds import Pixels
from kernel.frames import Image

Method = Literal["template5", "eyes_mouth", "eyes", "dlib5"]

DLIB_BOX_SIDE = 1.0
"""Side of the dlib-like square box, as a fraction of the detector box's width."""
DLIB_BOX_CENTRE_Y = 0.5
"""Height of the dlib-like box's centre in the detector box, as a fraction of its height.

Chosen by the landmarks they give: ``shape_predictor_5`` on the mapped box against the same
model on dlib's own HOG box (upsample 1), mean distance over the 5 points / eye distance. On
the 35 unclipped faces of the CFP photos ``Data/Images/001…060/frontal/02.jpg`` (not LFW):
0.0059 at (1.0, 0.5), 0.0064–0.0153 elsewhere on a 0.95–1.1 × 0.45–0.55 grid, 0.021 at
(0.85, 0.55), the mapping face-models.md reports (measured with another CenterFace set-up;
the median HOG side here is 1.01 w, centre 0.51 h). Checked on 8 lfw150 images
(``by_identity/*/*.jpg``, sorted, every 997th from the 2nd): 0.0038 at (1.0, 0.5), 0.0056
at (0.85, 0.55)."""

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


ChipCoordinate = Annotated[float, msgspec.Meta(ge=-1e4, le=1e4)]
"""A template point's coordinate in chip pixels (outside the chip is allowed, not absurd)."""


class AlignmentConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How a chip is cut: method, template (5 points, chip pixels) and chip size.

    The class defaults are one view (``eyes_mouth``); the engine's default is
    :data:`ENGINE_DEFAULT`, ``dlib5``.

    ``weights`` (5 values, ``template5`` only) weight each point in the least-squares fit;
    ``None`` weighs them equally.

    ``fuse_with`` names a second method: the face is then cut both ways and the template is
    the sum of the two views' L2-normalised descriptors (each with its mirror image when the
    embedder mirrors), re-normalised. The chip then holds the two views side by side
    (``height``×``2·width``). Measured on the dev halves (CFP 100 listed / 1,050 others, LFW
    780 / 1,361; TPIR at FPIR ≤ 0.1 %, both views mirrored): ``dlib5`` 39.8 % / 54.9 %,
    ``eyes_mouth`` 35.6 % / 56.7 %, fused 41.6 % / 61.4 % — the two alignments fail on
    different faces (dlib's landmarker on turned heads, the template on tight crops).
    """

    method: Method = "eyes_mouth"
    width: Pixels = 150
    height: Pixels = 150
    template: tuple[tuple[ChipCoordinate, ChipCoordinate], ...] = DLIB150_TEMPLATE
    weights: tuple[Annotated[float, msgspec.Meta(ge=0.0, le=1e6)], ...] | None = None
    fuse_with: Method | None = None

    @property
    def methods(self) -> tuple[Method, ...]:
        """The methods whose views make a chip, in order."""
        return (self.method,) if self.fuse_with is None else (self.method, self.fuse_with)

    def __post_init__(self) -> None:
        if len(self.template) != 5 or any(len(p) != 2 for p in self.template):
            raise ValueError("template must hold 5 (x, y) points")
        if self.weights is not None and (
            len(self.weights) != 5 or min(self.weights) < 0 or sum(self.weights) <= 0
        ):
            raise ValueError("weights must be 5 non-negative values, not all zero")
        if self.width < 16 or self.height < 16:
            raise ValueError("chip must be at least 16×16")
        if "dlib5" in self.methods and self.width != self.height:
            raise ValueError("dlib5 cuts square chips: width and height must be equal")
        if self.fuse_with is not None and self.fuse_with == self.method:
            raise ValueError("fuse_with must name another method than method")


ENGINE_DEFAULT = AlignmentConfig(method="dlib5")
"""The alignment ``engine.onnx`` uses when ``[engine.alignment]`` is not set: dlib's own
chip (what the ResNet was trained on). Fusing the template chip (``fuse_with``) was the best
dlib-alone engine; beside the second recognizer it added nothing measurable (BENCHMARKS.md)
for twice the first model's inference."""


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
    if cfg.method == "dlib5":
        raise ValueError("dlib5 finds its own landmarks in the image: use align()")
    raise ValueError(f"unknown alignment method {cfg.method!r}")


def dlib_rect(box: tuple[float, float, float, float]) -> Rect:
    """A square dlib rectangle (inclusive, integer) like dlib's HOG detector would give for
    the face in a detector box ``(x1, y1, x2, y2)``: ``shape_predictor_5`` was trained on
    HOG boxes, and on CenterFace's own box its landmarks are further off (face-models.md:
    median distance from dlib's descriptor 0.089 on the raw box, 0.054 on this one)."""
    x1, y1, x2, y2 = (float(v) for v in box)
    width, height = x2 - x1, y2 - y1
    side = max(1, round(DLIB_BOX_SIDE * width))
    cx = x1 + 0.5 * width
    cy = y1 + DLIB_BOX_CENTRE_Y * height
    # An inclusive rectangle `side` pixels wide has corners side - 1 apart around its centre;
    # rounded half up, as dlib rounds coordinates.
    left = math.floor(cx - (side - 1) / 2 + 0.5)
    top = math.floor(cy - (side - 1) / 2 + 0.5)
    return (left, top, left + side - 1, top + side - 1)


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


def align(
    image: Image,
    landmarks: npt.ArrayLike,
    config: AlignmentConfig | None = None,
    *,
    box: tuple[float, float, float, float] | None = None,
    predictor: ShapePredictor | None = None,
) -> Image:
    """The aligned RGB chip (``config.height``×``config.width``×3 uint8) of one face; with
    ``fuse_with``, both views side by side (``height``×``2·width``×3, see :func:`views`).

    ``box`` (the detection's ``(x1, y1, x2, y2)``) and ``predictor`` (the loaded
    ``shape_predictor_5``) are needed by ``"dlib5"`` only; the other methods ignore them.
    """
    cfg = config or AlignmentConfig()
    cuts = [align_view(image, landmarks, cfg, m, box, predictor) for m in cfg.methods]
    return cuts[0] if len(cuts) == 1 else np.ascontiguousarray(np.concatenate(cuts, axis=1))


def align_view(
    image: Image,
    landmarks: npt.ArrayLike,
    cfg: AlignmentConfig,
    method: Method,
    box: tuple[float, float, float, float] | None = None,
    predictor: ShapePredictor | None = None,
) -> Image:
    """One view of :func:`align`: the face cut by ``method`` alone (``height``×``width``×3)."""
    if method == "dlib5":
        if box is None or predictor is None:
            raise ValueError("dlib5 alignment needs the detection box and the shape predictor")
        points = dlib_points(predictor.predict(image, dlib_rect(box)))
        return face_chip(image, points, size=cfg.width, padding=DLIB_CHIP_PADDING)
    one = msgspec.structs.replace(cfg, method=method, fuse_with=None)
    return warp(image, estimate_transform(landmarks, one), cfg.width, cfg.height)


def views(chip: Image, width: int) -> list[Image]:
    """The aligned views a chip holds side by side, each ``width`` pixels wide."""
    count = max(1, chip.shape[1] // width)
    return [chip[:, i * width : (i + 1) * width] for i in range(count)]


def mirror(chip: Image) -> Image:
    """The chip flipped left–right; its descriptor, added to the original's, helps matching."""
    return np.ascontiguousarray(chip[:, ::-1])
