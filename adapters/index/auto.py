"""``index.auto``: exact search for ordinary watch lists, HNSW only when the list is huge.

Measured on the 2-core target (AMD EPYC, ``bench/bench_index.py``, 2026-11-27, machine shared
with other jobs so absolute times are noisy), single query, median, face-like 128-d data:

======== ============= ====================================== ========================
gallery  index.exact   index.usearch f32 (M32, ef 128)        HNSW recall@1 vs exact
======== ============= ====================================== ========================
10k      0.10 ms       0.43 ms (build 3.6 s)                  0.995
30k      0.16 ms       0.93 ms (build 23 s)                   0.985
100k     9.5 ms *      1.0 ms  (build 110 s)                  0.971
======== ============= ====================================== ========================

(* 1.7–2.1 ms on an idle machine, stack-notes.) Exact search wins outright up to tens of
thousands and is always right; HNSW wins on latency only from roughly 50–100k templates, and
then misses the true best match for ~3 % of probes on face-like data. So the default
``crossover`` is :data:`MEASURED_CROSSOVER` = 100,000: below it exact search costs at most a
few milliseconds per query and never misses. Set it in config to move it, e.g.
``crossover: 0`` to always use HNSW or a very large number to never build one.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from adapters.index.exact import ExactIndex
from adapters.index.usearch_hnsw import ScalarType, UsearchIndex
from kernel.bounds import Count, Dimensions
from kernel.protocols.adapter import AdapterContext
from kernel.protocols.index import Keys, SearchResult, Vectors

MEASURED_CROSSOVER = 100_000


class AutoIndex:
    """Serves searches from :class:`ExactIndex` below ``crossover`` entries, HNSW from there on.

    The exact matrix is always kept: it is the lossless copy that an HNSW graph is (re)built
    from, and it costs 4 × dim bytes per template (512 MB at a million 128-d templates). The
    graph is built when the size first reaches ``crossover`` (one rebuild, seconds to minutes:
    about 2.6k templates/s here) and from then on updated alongside the matrix. It is dropped
    only when the size falls below half the crossover, so a list that hovers around the
    crossover is not rebuilt over and over; between half and the full crossover searches go
    to the exact matrix, which is the faster one there.

    ``save(path)`` writes the matrix to ``path`` and, when a graph exists, the graph to
    ``path`` + ``.hnsw``; ``load`` rebuilds the graph if that file is missing or stale.
    """

    class Config(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
        """``crossover``: size at which HNSW takes over; the rest are ``index.usearch``'s."""

        dim: Dimensions = 128
        crossover: Count = MEASURED_CROSSOVER
        connectivity: Count = 32
        expansion_add: Count = 128
        expansion_search: Count = 128
        dtype: ScalarType = "f32"
        mmap: bool = False

    def __init__(self, config: AutoIndex.Config, context: AdapterContext | None = None) -> None:
        if config.crossover < 0:
            raise ValueError(f"crossover must be >= 0, got {config.crossover}")
        self.config = config
        self.dim = config.dim
        self._context = context
        self._exact = ExactIndex(ExactIndex.Config(dim=config.dim), context)
        self._hnsw_config = UsearchIndex.Config(
            dim=config.dim,
            connectivity=config.connectivity,
            expansion_add=config.expansion_add,
            expansion_search=config.expansion_search,
            dtype=config.dtype,
            mmap=config.mmap,
        )
        self._hnsw: UsearchIndex | None = None

    def __len__(self) -> int:
        return len(self._exact)

    @property
    def active(self) -> str:
        """Which index serves searches now: ``"exact"`` or ``"usearch"``."""
        return "usearch" if self._serves_hnsw() else "exact"

    def _serves_hnsw(self) -> bool:
        return self._hnsw is not None and len(self._exact) >= self.config.crossover

    def _rebuild(self) -> UsearchIndex:
        hnsw = UsearchIndex(self._hnsw_config, self._context)
        if len(self._exact):
            hnsw.add(self._exact.keys, self._exact.vectors)
        if self._context is not None:
            self._context.log.info("built HNSW graph over %d templates", len(hnsw))
        return hnsw

    def _rebalance(self) -> None:
        size = len(self._exact)
        if self._hnsw is None and size >= self.config.crossover and size > 0:
            self._hnsw = self._rebuild()
        elif self._hnsw is not None and size < self.config.crossover // 2:
            self._hnsw = None

    def add(self, keys: Keys, vectors: Vectors) -> None:
        """Insert or replace; may build the HNSW graph if the size reaches the crossover."""
        self._exact.add(keys, vectors)
        if self._hnsw is not None:
            self._hnsw.add(keys, vectors)
        self._rebalance()

    def remove(self, keys: Keys) -> None:
        """Remove ``keys`` (unknown keys are ignored); may drop the graph when far below."""
        self._exact.remove(keys)
        if self._hnsw is not None:
            self._hnsw.remove(keys)
        self._rebalance()

    def search(self, queries: Vectors, k: int = 1) -> SearchResult:
        """Exact below the crossover, approximate (HNSW) at or above it."""
        if self._hnsw is not None and self._serves_hnsw():
            return self._hnsw.search(queries, k)
        return self._exact.search(queries, k)

    def save(self, path: Path) -> None:
        """Matrix to ``path``, graph (if any) to ``path.hnsw``; each written atomically."""
        path = Path(path)
        graph = _graph_path(path)
        if self._hnsw is not None:
            self._hnsw.save(graph)
        else:
            graph.unlink(missing_ok=True)
        self._exact.save(path)

    def load(self, path: Path) -> None:
        """Restore what :meth:`save` wrote; rebuild the graph if its file does not match."""
        path = Path(path)
        exact = ExactIndex(ExactIndex.Config(dim=self.dim), self._context)
        exact.load(path)
        self._exact = exact
        self._hnsw = None
        graph = _graph_path(path)
        if graph.is_file() and len(exact) >= self.config.crossover // 2:
            hnsw = UsearchIndex(self._hnsw_config, self._context)
            hnsw.load(graph)
            # The two files are written one after the other; a crash between them leaves a
            # graph that disagrees with the matrix, which the size check below catches and a
            # rebuild repairs.
            if len(hnsw) == len(exact) and _same_keys(hnsw, exact):
                self._hnsw = hnsw
        self._rebalance()


def _graph_path(path: Path) -> Path:
    return path.with_name(path.name + ".hnsw")


def _same_keys(hnsw: UsearchIndex, exact: ExactIndex) -> bool:
    # Probing a sample of keys is enough to tell a stale graph from the matching one.
    keys = exact.keys[:: max(1, len(exact) // 64)]
    return all(k in hnsw for k in keys.tolist())

