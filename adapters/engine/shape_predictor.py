"""dlib's 5-point face landmarker (``shape_predictor_5_face_landmarks.dat``, CC0) in numpy.

dlib's ResNet was trained on chips cut from this model's landmarks, so running it without
dlib gives the recogniser the faces it was trained on (face-models.md). The model is an
ensemble of regression trees (Kazemi & Sullivan 2014) as dlib's ``shape_predictor.h`` runs it:

* shapes live in the box's normalised coordinates: (0, 0) is the rectangle's top-left corner
  and (1, 1) its bottom-right one, ``right - left`` and ``bottom - top`` pixels apart (dlib's
  ``unnormalizing_tform``);
* the shape starts as the mean shape; each of 15 cascade levels first finds the similarity
  (rotation and scale only) from the mean shape to the current one (``find_tform_between_shapes``),
  moves each of the level's feature points (an anchor landmark plus an offset) by it, reads the
  grey value (``(r + g + b) // 3``, 0 outside the image) of the pixel nearest each, then adds
  the leaf values of its 500 trees: at each split, ``pixel[idx1] - pixel[idx2] > thresh``
  goes to the *left* child (``2i + 1``), else to the right one (``2i + 2``);
* dlib returns integer landmarks, rounded half up (``point`` is ``vector<long, 2>``).

Serialization (dlib ``serialize.h``, integers and floats as in :mod:`dlib_format`): version 1;
the initial shape (``matrix<float,0,1>``: ``-rows``, ``-cols``, then the values); the forests
(a vector of cascade levels, each a vector of trees, each a vector of splits ``idx1, idx2,
thresh`` and a vector of leaf shapes); then per level the anchor landmark of each feature
point and its offset ``(dx, dy)`` from it.

Within a level the trees all read the same pixels, so every split's decision is computed at
once and each tree's leaf is looked up from its decisions taken as bits (one table per tree
depth); the result is checked against dlib's own tree-by-tree loop.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from adapters.engine.dlib_format import DlibFormatError, DlibReader, model_file
from kernel.frames import Image

#: File name of the landmarker inside the ``face_recognition_models`` package.
SHAPE_PREDICTOR_FILE = "shape_predictor_5_face_landmarks.dat"

Rect = tuple[float, float, float, float]
"""A dlib rectangle ``(left, top, right, bottom)``, inclusive: ``right - left + 1`` wide."""

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class CascadeLevel:
    """One level of the cascade: its feature points and its trees (all of one depth).

    Split arrays are flattened tree after tree (``T·S`` entries, ``S = 2**depth - 1`` splits
    per tree) so that a walk step is one ``take`` over all trees.
    """

    anchor: I64  # (P,) landmark each feature point is attached to
    deltas: F32  # (P, 2) offset of each feature point from its anchor, mean-shape coordinates
    idx1: I64  # (T·S,) feature read first at each split
    idx2: I64  # (T·S,)
    thresh: F32  # (T·S,)
    leaves: F32  # (T·(S + 1), 2 * parts) shape increments
    trees: int
    depth: int
    pairs: I64 = field(init=False)  # (2, T·S): idx1 and idx2 stacked, read in one gather
    split_base: I64 = field(init=False)  # (T,) index of each tree's first split
    leaf_base: I64 = field(init=False)  # (T,) index of each tree's first leaf
    dx: F32 = field(init=False)  # deltas[:, 0], contiguous
    dy: F32 = field(init=False)

    def __post_init__(self) -> None:
        splits = (1 << self.depth) - 1
        object.__setattr__(self, "pairs", np.stack([self.idx1, self.idx2]))
        object.__setattr__(self, "split_base", np.arange(self.trees, dtype=np.int64) * splits)
        object.__setattr__(self, "leaf_base", np.arange(self.trees, dtype=np.int64) * (splits + 1))
        object.__setattr__(self, "dx", np.ascontiguousarray(self.deltas[:, 0]))
        object.__setattr__(self, "dy", np.ascontiguousarray(self.deltas[:, 1]))

    @property
    def splits(self) -> int:
        """Splits per tree."""
        return (1 << self.depth) - 1


@dataclass(frozen=True, slots=True)
class ShapePredictor:
    """A parsed dlib ``shape_predictor``; call :meth:`predict` for landmarks."""

    initial_shape: F32  # (2 * parts,) x0, y0, x1, y1, … in normalised box coordinates
    levels: tuple[CascadeLevel, ...]

    @property
    def parts(self) -> int:
        """Number of landmarks (5)."""
        return self.initial_shape.size // 2

    @property
    def tree_count(self) -> int:
        """Trees over all cascade levels."""
        return sum(level.trees for level in self.levels)

    def predict(self, image: Image, rect: Rect) -> npt.NDArray[np.float64]:
        """Landmarks (parts × 2, image pixels, not rounded) of the face in ``rect``.

        ``image`` is RGB (or grey) uint8. Round with :func:`dlib_points` to get exactly the
        integer points dlib returns.
        """
        left, top, right, bottom = (float(v) for v in rect)
        if not right > left or not bottom > top:
            raise ValueError(f"empty rectangle {rect}")
        scale = np.array([right - left, bottom - top])
        origin = np.array([left, top])
        reference = self.initial_shape.reshape(-1, 2)
        sampler = _Sampler(image)
        shape = self.initial_shape.copy()
        for level in self.levels:
            current = shape.reshape(-1, 2)
            tform = shape_tform(reference, current)
            # dlib computes tform·delta + anchor in float, then maps to pixels in double and
            # rounds half up to the nearest pixel.
            anchors = current.take(level.anchor, axis=0)
            moved_x = level.dx * tform[0, 0] + level.dy * tform[0, 1] + anchors[:, 0]
            moved_y = level.dx * tform[1, 0] + level.dy * tform[1, 1] + anchors[:, 1]
            x = np.floor(moved_x.astype(np.float64) * scale[0] + origin[0] + 0.5)
            y = np.floor(moved_y.astype(np.float64) * scale[1] + origin[1] + 0.5)
            shape = _add_trees(shape, level, sampler.grey(x, y))
        return np.asarray(shape.reshape(-1, 2).astype(np.float64) * scale + origin)


def shape_tform(reference: npt.NDArray[np.float32], current: npt.NDArray[np.float32]) -> F32:
    """The 2×2 rotation·scale of the least-squares similarity taking ``reference`` points
    onto ``current`` ones (dlib's ``find_tform_between_shapes``; its translation is unused).

    dlib uses Umeyama's SVD with the reflection forbidden; in 2-D the optimum has a closed
    form (the same numbers to rounding): with centred points and cross terms
    ``a = Σ x·x' + y·y'``, ``b = Σ x·y' - y·x'``, the matrix is ``[[a, -b], [b, a]] / Σ |p|²``.
    Plain floats: for 5 points numpy's per-call overhead would cost more than the sums.
    """
    src = reference.astype(np.float64).tolist()
    dst = current.astype(np.float64).tolist()
    n = len(src)
    sx = sum(p[0] for p in src) / n
    sy = sum(p[1] for p in src) / n
    dx = sum(p[0] for p in dst) / n
    dy = sum(p[1] for p in dst) / n
    var = a = b = 0.0
    for (x, y), (u, v) in zip(src, dst, strict=True):
        x, y, u, v = x - sx, y - sy, u - dx, v - dy
        var += x * x + y * y
        a += x * u + y * v
        b += x * v - y * u
    if var == 0.0:
        return np.eye(2, dtype=np.float32)
    return np.array([[a / var, -b / var], [b / var, a / var]], dtype=np.float32)


class _Sampler:
    """dlib's grey value of an image at integer points; 0 outside the image.

    RGB pixels are ``(r + g + b) // 3`` (dlib's ``assign_pixel`` to ``unsigned char``), read
    only where needed: converting a whole 1080p frame would cost more than the trees.
    """

    def __init__(self, image: Image) -> None:
        self.height, self.width = image.shape[:2]
        self.flat = image.reshape(self.height * self.width, -1)  # a view for ordinary frames

    def grey(self, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> F32:
        """Grey values at pixel coordinates ``x``, ``y`` (whole numbers)."""
        inside = (x >= 0) & (y >= 0) & (x < self.width) & (y < self.height)
        index = np.where(inside, y * self.width + x, 0).astype(np.int64)
        sampled = self.flat.take(index, axis=0).astype(np.int32)
        if sampled.shape[1] >= 3:
            grey = (sampled[:, 0] + sampled[:, 1] + sampled[:, 2]) // 3
        else:
            grey = sampled[:, 0]
        grey[~inside] = 0
        return grey.astype(np.float32)


def grey_at(image: Image, points: npt.ArrayLike) -> F32:
    """dlib's grey value of ``image`` at integer ``points`` (N × 2, x then y); 0 outside."""
    xy = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return _Sampler(image).grey(xy[:, 0], xy[:, 1])


@lru_cache(maxsize=4)
def _leaf_of_decisions(depth: int) -> I64:
    """For a full tree of ``depth``: the leaf reached for every combination of split
    decisions, indexed by the decisions as bits (bit ``i`` set: split ``i`` goes right).

    The walk is the same for every tree of that depth, so one table replaces ``depth``
    dependent gathers per level by one.
    """
    splits = (1 << depth) - 1
    codes = np.arange(1 << splits, dtype=np.int64)
    node = np.zeros_like(codes)
    for _ in range(depth):
        node = 2 * node + 1 + ((codes >> node) & 1)
    leaf: I64 = node - splits
    return leaf


@lru_cache(maxsize=4)
def _powers_of_two(count: int) -> F32:
    return np.asarray([1 << i for i in range(count)], dtype=np.float32)


def _add_trees(shape: F32, level: CascadeLevel, pixels: F32) -> F32:
    # Every split's decision at once (T·S compares) ...
    read = pixels.take(level.pairs)
    right = read[0] - read[1] <= level.thresh
    if level.splits <= 16:
        # ... made one integer per tree (bits weighted by powers of two: a float32
        # matrix-vector product is exact below 2**24 and faster than packbits), looked up
        # in the walk table.
        bits = right.reshape(level.trees, level.splits).astype(np.float32)
        codes = (bits @ _powers_of_two(level.splits)).astype(np.int64)
        leaf = level.leaf_base + _leaf_of_decisions(level.depth).take(codes)
    else:
        # ... or walked, one gather per depth, for trees too deep for a table.
        steps = right.view(np.int8)
        node = level.split_base.copy()  # each tree's root, as an index into the flat splits
        for _ in range(level.depth - 1):
            node += node - level.split_base + 1 + steps.take(node)
        leaf = (level.leaf_base + 2 * (node - level.split_base) + steps.take(node) + 1
                - level.splits)
    increments = level.leaves.take(leaf, axis=0)
    # dlib adds the trees' outputs one after the other in float32. A reduction along the
    # first axis of a C-ordered array adds row after row in that order (checked equal to a
    # float32 cumulative sum, bit for bit); a sum along a contiguous axis would go pairwise.
    stacked = np.concatenate([shape[None, :], increments], axis=0)
    result: F32 = np.add.reduce(stacked, axis=0, dtype=np.float32)
    return result


def dlib_points(landmarks: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Landmarks rounded as dlib rounds them into ``point``: ``floor(v + 0.5)``."""
    return np.floor(np.asarray(landmarks, dtype=np.float64) + 0.5)


def _read_matrix(reader: DlibReader, what: str) -> npt.NDArray[np.float64]:
    rows, cols = -reader.read_int(), -reader.read_int()
    if rows <= 0 or cols != 1:
        raise DlibFormatError(f"{what}: expected a column vector, found {rows}×{cols}")
    return reader.read_floats(rows)


def _read_tree(reader: DlibReader, parts: int) -> tuple[I64, I64, F32, F32]:
    splits = reader.read_int()
    raw = reader.read_ints(4 * splits).reshape(splits, 4)  # idx1, idx2, mantissa, exponent
    thresh = np.ldexp(raw[:, 2].astype(np.float64), raw[:, 3].astype(np.int32))
    leaves = reader.read_int()
    reader.expect("leaves per tree (a full binary tree)", leaves, splits + 1)
    if leaves & (leaves - 1):
        raise DlibFormatError(f"{leaves} leaves is not a full binary tree")
    values = reader.read_ints(leaves * (2 + 4 * parts)).reshape(leaves, 2 + 4 * parts)
    if (values[:, 0] != -2 * parts).any() or (values[:, 1] != -1).any():
        raise DlibFormatError(f"leaf values are not {2 * parts}-vectors near byte {reader.pos}")
    pairs = values[:, 2:].reshape(leaves, 2 * parts, 2)
    leaf = np.ldexp(pairs[..., 0].astype(np.float64), pairs[..., 1].astype(np.int32))
    return raw[:, 0], raw[:, 1], thresh.astype(np.float32), leaf.astype(np.float32)


def parse_shape_predictor(data: bytes) -> ShapePredictor:
    """Parse a dlib ``shape_predictor`` file.

    Raises :class:`DlibFormatError` when anything is unexpected, including bytes left after
    the last value and feature indices outside a level's feature points.
    """
    reader = DlibReader(data)
    reader.expect("shape_predictor version", reader.read_int(), 1)
    initial = _read_matrix(reader, "initial shape")
    if initial.size % 2:
        raise DlibFormatError("the initial shape has an odd number of coordinates")
    parts = initial.size // 2
    forests = []
    for _ in range(reader.read_int()):
        trees = [_read_tree(reader, parts) for _ in range(reader.read_int())]
        if not trees or len({t[0].size for t in trees}) != 1:
            raise DlibFormatError("a cascade level's trees differ in depth (not supported)")
        forests.append(trees)
    levels = len(forests)
    reader.expect("anchor lists (one per cascade level)", reader.read_int(), levels)
    anchors = [reader.read_ints(reader.read_int()) for _ in range(levels)]
    reader.expect("offset lists (one per cascade level)", reader.read_int(), levels)
    deltas = [reader.read_floats(2 * reader.read_int()).reshape(-1, 2) for _ in range(levels)]
    if not reader.at_end():
        raise DlibFormatError(f"{len(data) - reader.pos} bytes left after the shape predictor")

    built = []
    for trees, anchor, delta in zip(forests, anchors, deltas, strict=True):
        if len(anchor) != len(delta):
            raise DlibFormatError("a level has different numbers of anchors and offsets")
        idx1 = np.concatenate([t[0] for t in trees])
        idx2 = np.concatenate([t[1] for t in trees])
        if max(int(idx1.max()), int(idx2.max())) >= len(anchor) or min(
                int(idx1.min()), int(idx2.min())) < 0:
            raise DlibFormatError("a split reads a feature point the level does not have")
        if len(anchor) and (int(anchor.max()) >= parts or int(anchor.min()) < 0):
            raise DlibFormatError("a feature point is anchored to a landmark that does not exist")
        built.append(CascadeLevel(
            anchor=anchor,
            deltas=delta.astype(np.float32),
            idx1=idx1,
            idx2=idx2,
            thresh=np.concatenate([t[2] for t in trees]),
            leaves=np.concatenate([t[3] for t in trees]),
            trees=len(trees),
            depth=(trees[0][0].size + 1).bit_length() - 1,
        ))
    return ShapePredictor(initial_shape=initial.astype(np.float32), levels=tuple(built))


_cache: dict[str, ShapePredictor] = {}
_cache_lock = threading.Lock()


def load_shape_predictor(path: Path | None = None, sha256: str | None = None) -> ShapePredictor:
    """Parse the landmarker from ``path`` (default: the ``face_recognition_models`` package).

    Parsing takes about a second; with ``sha256`` (the file's checksum, e.g. from the model
    manifest) the result is kept for the process, so several engines share one copy.
    """
    with _cache_lock:
        if sha256 is not None and sha256 in _cache:
            return _cache[sha256]
        source = path if path is not None else model_file(SHAPE_PREDICTOR_FILE)
        predictor = parse_shape_predictor(source.read_bytes())
        if sha256 is not None:
            _cache[sha256] = predictor
        return predictor
