"""``index.exact``: brute-force cosine search over a dense, pre-normalised float32 matrix.

For watch lists up to tens of thousands of templates this is the fastest index on the target
hardware (one BLAS matrix product per batch of queries; see ``bench/bench_index.py``), and it
is exact, so it is also the reference that approximate indexes are measured against.

The helpers :func:`as_keys`, :func:`as_entry_keys`, :func:`as_unit_rows`,
:func:`last_occurrence`, :func:`empty_result` and :func:`replace_atomically` are shared with the
other index adapters so that every index validates its input in the same way.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import msgspec
import numpy as np
import numpy.typing as npt

from kernel.bounds import Dimensions
from kernel.protocols.adapter import AdapterContext
from kernel.protocols.index import Keys, SearchResult, Vectors

# Scores for one chunk of queries are a (chunk, size) float32 matrix; cap it so a large batch
# against a large gallery cannot allocate gigabytes at once.
_MAX_SCORE_CELLS = 32 * 1024 * 1024
_FORMAT_VERSION = 1


def as_keys(keys: npt.ArrayLike) -> Keys:
    """``keys`` as a 1-d int64 array, or ValueError."""
    arr = np.asarray(keys)
    if arr.ndim != 1:
        raise ValueError(f"keys must be 1-d, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"keys must be integers, got {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def as_entry_keys(keys: npt.ArrayLike) -> Keys:
    """Keys for ``add``: like :func:`as_keys`, but -1 is refused (it marks padding)."""
    arr = as_keys(keys)
    if np.any(arr == -1):
        raise ValueError("key -1 is reserved (it marks padding in search results)")
    return arr


def as_unit_rows(vectors: npt.ArrayLike, dim: int, what: str = "vectors") -> Vectors:
    """``vectors`` as a C-contiguous (n, dim) float32 array with L2-normalised rows.

    Callers are meant to pass normalised templates already; normalising again costs little
    and makes inner products cosine similarities whatever the caller did. An all-zero row stays
    zero (it then scores 0 against everything) rather than becoming NaN.
    """
    arr = np.asarray(vectors, dtype=np.float32)
    if arr.ndim == 1 and arr.shape[0] == dim:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise ValueError(f"{what} must have shape (n, {dim}), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} contain NaN or infinity")
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    norms[norms == 0.0] = 1.0
    return np.ascontiguousarray(arr / norms, dtype=np.float32)


def last_occurrence(keys: Keys) -> npt.NDArray[np.intp]:
    """Indices into ``keys`` that keep only the last occurrence of each key, in input order.

    A batch that names a key twice means "the later vector wins", as two separate adds would.
    """
    if keys.size < 2:
        return np.arange(keys.size)
    _, first_in_reversed = np.unique(keys[::-1], return_index=True)
    return np.sort(keys.size - 1 - first_in_reversed)


def empty_result(n_queries: int, k: int) -> tuple[Keys, npt.NDArray[np.float32]]:
    """Padding arrays (key -1, score -inf) of shape (n_queries, k)."""
    return (
        np.full((n_queries, k), -1, dtype=np.int64),
        np.full((n_queries, k), -np.inf, dtype=np.float32),
    )


def check_k(k: int) -> int:
    """``k`` as a positive int, or ValueError."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return int(k)


def replace_atomically(path: Path, write: Callable[[Path], None], suffix: str) -> None:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it over ``path``.

    A crash mid-write leaves the previous file intact, never a truncated one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class ExactIndex:
    """Exact cosine search: every query is scored against every template.

    Storage is a dense (capacity, dim) float32 matrix whose first ``len(self)`` rows are live;
    a dict maps each key to its row. Removal moves the last live row into the hole, so the live
    rows stay contiguous and a search is one matrix product over them. Top-k uses
    ``argpartition`` (``argmax`` for k = 1), then sorts only the k survivors.
    """

    class Config(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
        """``dim``: template length (128 for dlib-style embeddings)."""

        dim: Dimensions = 128

    def __init__(self, config: ExactIndex.Config, context: AdapterContext | None = None) -> None:
        if config.dim < 1:
            raise ValueError(f"dim must be positive, got {config.dim}")
        self.config = config
        self.dim = config.dim
        self._context = context
        self._matrix: Vectors = np.zeros((0, self.dim), dtype=np.float32)
        self._keys: Keys = np.zeros(0, dtype=np.int64)
        self._rows: dict[int, int] = {}
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def __contains__(self, key: object) -> bool:
        return isinstance(key, int | np.integer) and int(key) in self._rows

    @property
    def keys(self) -> Keys:
        """A copy of the live keys, in row order."""
        return self._keys[: self._size].copy()

    @property
    def vectors(self) -> Vectors:
        """A read-only view of the live, normalised rows (row i belongs to ``keys[i]``)."""
        view = self._matrix[: self._size]
        view.flags.writeable = False
        return view

    def _reserve(self, needed: int) -> None:
        capacity = self._matrix.shape[0]
        if needed <= capacity:
            return
        # Doubling keeps repeated small adds amortised O(1) per row.
        new_capacity = max(needed, 2 * capacity, 64)
        matrix = np.zeros((new_capacity, self.dim), dtype=np.float32)
        matrix[: self._size] = self._matrix[: self._size]
        keys = np.zeros(new_capacity, dtype=np.int64)
        keys[: self._size] = self._keys[: self._size]
        self._matrix, self._keys = matrix, keys

    def add(self, keys: Keys, vectors: Vectors) -> None:
        """Insert ``vectors`` (n, dim) under ``keys`` (n,); an existing key's vector is replaced."""
        keys = as_entry_keys(keys)
        unit = as_unit_rows(vectors, self.dim)
        if keys.shape[0] != unit.shape[0]:
            raise ValueError(f"{keys.shape[0]} keys for {unit.shape[0]} vectors")
        keep = last_occurrence(keys)
        keys, unit = keys[keep], unit[keep]
        rows = self._rows
        key_list = keys.tolist()
        existing = np.fromiter((k in rows for k in key_list), dtype=bool, count=len(key_list))
        if existing.any():
            old_rows = np.fromiter(
                (rows[k] for k, e in zip(key_list, existing.tolist(), strict=True) if e),
                dtype=np.intp,
            )
            self._matrix[old_rows] = unit[existing]
        fresh = ~existing
        n_new = int(fresh.sum())
        if n_new:
            start = self._size
            self._reserve(start + n_new)
            self._matrix[start : start + n_new] = unit[fresh]
            new_keys = keys[fresh]
            self._keys[start : start + n_new] = new_keys
            rows.update(zip(new_keys.tolist(), range(start, start + n_new), strict=True))
            self._size = start + n_new

    def remove(self, keys: Keys) -> None:
        """Remove ``keys``; unknown keys are ignored."""
        for key in as_keys(keys).tolist():
            row = self._rows.pop(key, None)
            if row is None:
                continue
            last = self._size - 1
            if row != last:
                moved = int(self._keys[last])
                self._matrix[row] = self._matrix[last]
                self._keys[row] = moved
                self._rows[moved] = row
            self._size = last
        if self._size == 0:
            self._matrix = np.zeros((0, self.dim), dtype=np.float32)
            self._keys = np.zeros(0, dtype=np.int64)

    def search(self, queries: Vectors, k: int = 1) -> SearchResult:
        """The ``k`` best templates per query by cosine similarity, best first, padded."""
        k = check_k(k)
        q = as_unit_rows(queries, self.dim, "queries")
        out_keys, out_scores = empty_result(q.shape[0], k)
        n = self._size
        if n == 0 or q.shape[0] == 0:
            return SearchResult(keys=out_keys, scores=out_scores)
        kk = min(k, n)
        live = self._matrix[:n]
        live_keys = self._keys[:n]
        chunk = max(1, _MAX_SCORE_CELLS // n)
        for lo in range(0, q.shape[0], chunk):
            hi = min(lo + chunk, q.shape[0])
            scores = q[lo:hi] @ live.T
            if kk == 1:
                top = np.argmax(scores, axis=1)[:, None]
            elif kk < n:
                part = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
                order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
                top = np.take_along_axis(part, order, axis=1)
            else:
                top = np.argsort(-scores, axis=1, kind="stable")
            out_keys[lo:hi, :kk] = live_keys[top]
            out_scores[lo:hi, :kk] = np.take_along_axis(scores, top, axis=1)
        np.clip(out_scores[:, :kk], -1.0, 1.0, out=out_scores[:, :kk])
        return SearchResult(keys=out_keys, scores=out_scores)

    def save(self, path: Path) -> None:
        """Write keys and rows to one ``.npz`` file at ``path``, atomically (temp + rename)."""

        def write(tmp: Path) -> None:
            with tmp.open("wb") as fh:
                np.savez(
                    fh,
                    format=np.array(_FORMAT_VERSION, dtype=np.int64),
                    dim=np.array(self.dim, dtype=np.int64),
                    keys=self._keys[: self._size],
                    vectors=self._matrix[: self._size],
                )

        replace_atomically(Path(path), write, ".npz.tmp")

    def load(self, path: Path) -> None:
        """Replace the contents with what :meth:`save` wrote at ``path``."""
        with np.load(Path(path), allow_pickle=False) as data:
            if int(data["format"]) != _FORMAT_VERSION:
                raise ValueError(f"{path}: unknown exact-index format {int(data['format'])}")
            dim = int(data["dim"])
            if dim != self.dim:
                raise ValueError(f"{path}: index has dim {dim}, config says {self.dim}")
            keys = np.asarray(data["keys"], dtype=np.int64)
            vectors = np.ascontiguousarray(data["vectors"], dtype=np.float32)
        if vectors.shape != (keys.shape[0], dim):
            raise ValueError(f"{path}: {keys.shape[0]} keys but vectors of shape {vectors.shape}")
        rows = dict(zip(keys.tolist(), range(keys.shape[0]), strict=True))
        if len(rows) != keys.shape[0]:
            raise ValueError(f"{path}: duplicate keys")
        self._matrix, self._keys, self._rows, self._size = vectors, keys, rows, keys.shape[0]
