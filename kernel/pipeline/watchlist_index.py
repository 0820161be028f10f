"""The live deployment's watch lists in a vector index, and the match threshold (R4, R21, R22)."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec
import numpy as np
import numpy.typing as npt

from kernel.protocols.index import VectorIndex


class IndexedEntry(msgspec.Struct, frozen=True):
    """What an index key stands for: a photo's template of one watch-list entry."""

    deployment_id: str
    entry_id: str
    blue: bool = False


class Match(msgspec.Struct, frozen=True):
    key: int
    entry: IndexedEntry
    score: float


class LiveWatchlist:
    """Templates of the live deployments (watch lists and blue lists) and their thresholds."""

    def __init__(self, index: VectorIndex, thresholds: dict[str, float]) -> None:
        self.index = index
        self.thresholds = thresholds
        """Match threshold (cosine) per deployment id (R22)."""
        self.entries: dict[int, IndexedEntry] = {}

    def add(self, items: Iterable[tuple[int, IndexedEntry, npt.NDArray[np.float32]]]) -> None:
        """Add (key, entry, template) triples; templates are L2-normalised rows."""
        batch = list(items)
        if not batch:
            return
        keys = np.asarray([k for k, _, _ in batch], np.int64)
        self.index.add(keys, np.stack([t for _, _, t in batch]).astype(np.float32))
        for key, entry, _ in batch:
            self.entries[key] = entry

    def match(self, templates: npt.NDArray[np.float32]) -> list[Match | None]:
        """For each template, the best entry at or above the threshold, else None.

        Synchronous CPU work: the pipeline calls it in the executor.
        """
        if len(templates) == 0 or not self.entries:
            return [None] * len(templates)
        found = self.index.search(templates, 1)
        out: list[Match | None] = []
        for key, score in zip(found.keys[:, 0], found.scores[:, 0], strict=True):
            entry = self.entries.get(int(key))
            if entry is None or float(score) < self.thresholds[entry.deployment_id]:
                out.append(None)
            else:
                out.append(Match(int(key), entry, float(score)))
        return out
