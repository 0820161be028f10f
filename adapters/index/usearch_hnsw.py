"""``index.usearch``: approximate cosine search with a usearch HNSW graph.

It pays off only for very large watch lists (see ``adapters/index/auto.py`` for the measured
crossover against ``index.exact``); below that, exact search is both faster and exact.

usearch reports cosine *distances* (1 − cos); this adapter returns cosine similarities like
every other index. A removed key leaves a tombstone in the graph until the next rebuild, so a
list that churns heavily is best rebuilt now and then (``index.auto`` rebuilds on crossings).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
import numpy as np
from usearch.index import Index

from adapters.index.exact import (
    as_entry_keys,
    as_keys,
    as_unit_rows,
    check_k,
    empty_result,
    last_occurrence,
    replace_atomically,
)
from kernel.bounds import Count, Dimensions
from kernel.protocols.adapter import AdapterContext
from kernel.protocols.index import Keys, SearchResult, Vectors

ScalarType = Literal["f32", "f16", "i8"]


class UsearchIndex:
    """HNSW over L2-normalised templates, cosine metric, keys are int64 (stored as uint64 bits).

    ``search`` is approximate: recall depends on ``expansion_search`` and the data; measure it
    with ``bench/bench_index.py`` before changing the defaults. Key -1 is reserved (it is the
    padding key of :class:`SearchResult` and usearch's own "no key" value).
    """

    class Config(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
        """HNSW parameters.

        - ``dim``: template length.
        - ``connectivity``: graph degree M (edges per node); more is better recall, more memory.
        - ``expansion_add``: candidate list while building (efConstruction).
        - ``expansion_search``: candidate list while searching (ef); raised to k when smaller.
        - ``dtype``: how vectors are stored: f32, f16 (half memory), i8 (quarter memory).

        The defaults are not usearch's (16 / 128 / 64): on face-like data (a large component
        shared by every face, see ``kernel.testing.index_contract.face_like_templates``)
        usearch's defaults missed the true best match for 4 % of probes against 20k
        templates; connectivity 32 with expansion_search 128 missed 0.65 %, at about twice
        the search time. ``bench/bench_index.py`` reports recall@1 for the configurations.
        - ``mmap``: ``load`` memory-maps the file (read-only view, instant start, shared page
          cache) instead of reading it; the first ``add``/``remove`` after such a load reads
          the file into memory, since a view cannot be changed.
        - ``build_threads``: threads inserting into the graph (0: one per core). A
          multi-threaded build inserts in a different order each time, so its graph, and
          which near-tie it misses, differs between runs; 1 builds the same graph every time
          (what the contract test uses: it failed 1 full-suite run in about 10 at 0).
        """

        dim: Dimensions = 128
        connectivity: Count = 32
        expansion_add: Count = 128
        expansion_search: Count = 128
        dtype: ScalarType = "f32"
        mmap: bool = False
        build_threads: Annotated[int, msgspec.Meta(ge=0, le=256)] = 0

    def __init__(self, config: UsearchIndex.Config, context: AdapterContext | None = None) -> None:
        if config.dim < 1:
            raise ValueError(f"dim must be positive, got {config.dim}")
        for name in ("connectivity", "expansion_add", "expansion_search"):
            if getattr(config, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(config, name)}")
        self.config = config
        self.dim = config.dim
        self._context = context
        # Any: usearch's annotations declare the expansion properties read-only, but their
        # setters exist and are how a restored index gets its search/add factors back.
        self._index: Any = self._new_index()
        self._view_path: Path | None = None

    def _new_index(self) -> Index:
        return Index(
            ndim=self.dim,
            metric="cos",
            dtype=self.config.dtype,
            connectivity=self.config.connectivity,
            expansion_add=self.config.expansion_add,
            expansion_search=self.config.expansion_search,
        )

    def _tune(self, index: Any) -> Any:
        # usearch persists the graph and connectivity but not the expansion factors.
        index.expansion_add = self.config.expansion_add
        index.expansion_search = self.config.expansion_search
        return index

    def _writable(self) -> Any:
        # A memory-mapped view is immutable (usearch raises on add and crashes the process on
        # remove), so the first change after an mmap load reads the file into memory.
        if self._view_path is not None:
            self._index = self._tune(self._restore(self._view_path, view=False))
            self._view_path = None
        return self._index

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, int | np.integer) or len(self._index) == 0:
            return False
        ukey = np.array([int(key)], dtype=np.int64).view(np.uint64)
        return bool(np.asarray(self._index.contains(ukey)).reshape(-1)[0])

    @property
    def memory_usage(self) -> int:
        """Bytes the index holds (graph and vectors), as usearch reports it."""
        return int(self._index.memory_usage)

    def add(self, keys: Keys, vectors: Vectors) -> None:
        """Insert ``vectors`` (n, dim) under ``keys`` (n,); an existing key's vector is replaced."""
        keys = as_entry_keys(keys)
        unit = as_unit_rows(vectors, self.dim)
        if keys.shape[0] != unit.shape[0]:
            raise ValueError(f"{keys.shape[0]} keys for {unit.shape[0]} vectors")
        if keys.size == 0:
            return
        keep = last_occurrence(keys)
        keys, unit = keys[keep], unit[keep]
        index = self._writable()
        ukeys = keys.view(np.uint64)
        present = np.asarray(index.contains(ukeys), dtype=bool).reshape(-1)
        if present.any():
            # usearch refuses duplicate keys, so replacing is remove-then-add.
            index.remove(ukeys[present])
        index.add(ukeys, unit, threads=self.config.build_threads)

    def remove(self, keys: Keys) -> None:
        """Remove ``keys``; unknown keys are ignored."""
        ukeys = as_keys(keys).view(np.uint64)
        if ukeys.size == 0 or len(self._index) == 0:
            return
        present = np.asarray(self._index.contains(ukeys), dtype=bool).reshape(-1)
        if present.any():
            self._writable().remove(ukeys[present])

    def search(self, queries: Vectors, k: int = 1) -> SearchResult:
        """The ``k`` (approximately) most similar templates per query, best first, padded."""
        k = check_k(k)
        q = as_unit_rows(queries, self.dim, "queries")
        out_keys, out_scores = empty_result(q.shape[0], k)
        if len(self._index) == 0 or q.shape[0] == 0:
            return SearchResult(keys=out_keys, scores=out_scores)
        index = self._index
        if index.expansion_search < k:
            index.expansion_search = k
        matches: Any = index.search(q, k)
        found_keys = np.asarray(matches.keys).reshape(q.shape[0], -1)
        distances = np.asarray(matches.distances, dtype=np.float32).reshape(q.shape[0], -1)
        # One query gives a ``Matches`` already cut to its count; a batch gives padded rows
        # and a ``counts`` vector.
        counts = np.asarray(getattr(matches, "counts", [found_keys.shape[1]])).reshape(-1)
        width = min(k, found_keys.shape[1])
        valid = np.arange(width)[None, :] < counts[:, None]
        # Padding slots carry NaN distances; they are masked below, so make them finite first.
        scores = np.clip(1.0 - np.nan_to_num(distances[:, :width], nan=2.0), -1.0, 1.0)
        out_keys[:, :width] = np.where(valid, found_keys[:, :width].view(np.int64), -1)
        out_scores[:, :width] = np.where(valid, scores, -np.inf)
        # Quantised (f16/i8) distances can come back a hair out of order; the contract is
        # "best first", so order each row by score (padding sorts last).
        order = np.argsort(-out_scores, axis=1, kind="stable")
        return SearchResult(
            keys=np.take_along_axis(out_keys, order, axis=1),
            scores=np.take_along_axis(out_scores, order, axis=1),
        )

    def save(self, path: Path) -> None:
        """Write the usearch file to ``path`` atomically (temp file + rename)."""
        index = self._index

        def write(tmp: Path) -> None:
            index.save(str(tmp))

        replace_atomically(Path(path), write, ".usearch.tmp")

    def load(self, path: Path) -> None:
        """Replace the contents with the file at ``path`` (memory-mapped when ``mmap``)."""
        path = Path(path)
        index = self._restore(path, view=self.config.mmap)
        self._index = self._tune(index)
        self._view_path = path if self.config.mmap else None

    def _restore(self, path: Path, *, view: bool) -> Index:
        if not path.is_file():
            raise FileNotFoundError(f"no usearch index at {path}")
        index = Index.restore(str(path), view=view)
        if index is None:
            raise ValueError(f"{path} is not a usearch index")
        if index.ndim != self.dim:
            raise ValueError(f"{path}: index has dim {index.ndim}, config says {self.dim}")
        return index

