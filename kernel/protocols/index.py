"""Vector-index seam: the watch list's templates, searched by cosine similarity."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import msgspec
import numpy as np
import numpy.typing as npt

Keys = npt.NDArray[np.int64]
Vectors = npt.NDArray[np.float32]


class SearchResult(msgspec.Struct, frozen=True):
    """Best entries for each query, best first.

    ``keys`` and ``scores`` are (n_queries, k); ``scores`` are cosine similarities in [-1, 1].
    Where the index holds fewer than k entries the row is padded with key -1 and score -inf.
    """

    keys: Keys
    scores: npt.NDArray[np.float32]


@runtime_checkable
class VectorIndex(Protocol):
    """An in-memory index of L2-normalised templates keyed by int64.

    Methods are synchronous CPU work: the kernel calls them from its executor, so an
    implementation must be safe to call from one worker thread at a time (the kernel never
    calls one index concurrently). ``add`` with an existing key replaces its vector.
    """


    def add(self, keys: Keys, vectors: Vectors) -> None:
        """Insert or replace ``vectors`` (n, dim) under ``keys`` (n,)."""
        ...

    def remove(self, keys: Keys) -> None:
        """Remove the given keys; unknown keys are ignored."""
        ...

    def search(self, queries: Vectors, k: int = 1) -> SearchResult:
        """The ``k`` most similar entries for each row of ``queries`` (n, dim)."""
        ...

    def save(self, path: Path) -> None:
        """Write the index to ``path`` so that :meth:`load` restores it exactly."""
        ...

    def load(self, path: Path) -> None:
        """Replace the contents with what :meth:`save` wrote at ``path``."""
        ...

    def __len__(self) -> int: ...
