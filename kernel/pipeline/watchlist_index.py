"""The live deployment's watch lists in a vector index, and the match threshold (R4, R21, R22)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

import msgspec
import numpy as np
import numpy.typing as npt

from kernel.domain.thresholds import FLOOR
from kernel.protocols.index import VectorIndex


class IndexedEntry(msgspec.Struct, frozen=True):
    """What an index key stands for: a photo's template of one watch-list entry."""

    deployment_id: str
    entry_id: str
    blue: bool = False

    @property
    def ref(self) -> tuple[str, str]:
        """(deployment_id, entry_id): the entry, whichever of its photos matched."""
        return (self.deployment_id, self.entry_id)


class Match(msgspec.Struct, frozen=True):
    """An entry and its score for one query; ``key`` is the index key of its best photo."""

    key: int
    entry: IndexedEntry
    score: float


def _guarded(threshold: float, floor: float) -> float:
    """``threshold`` raised to ``floor``; NaN, infinite or above 1: infinity (no match)."""
    if not math.isfinite(threshold) or threshold > 1.0:
        return math.inf
    return max(floor, threshold)


class LiveWatchlist:
    """Templates of the live deployments (watch lists and blue lists) and their thresholds."""

    def __init__(self, index: VectorIndex, thresholds: dict[str, float],
                 *, floor: float = FLOOR) -> None:
        self.index = index
        self.thresholds = {d: _guarded(t, floor) for d, t in thresholds.items()}
        """Match threshold (cosine) per deployment id (R22), never below ``floor`` whatever
        was handed in (R3: the matcher does not decide below the calibrated floor of
        :mod:`kernel.domain.thresholds`; NaN or above 1 decides nothing). ``floor`` is lowered
        only by the unit tests of the fusion arithmetic on synthetic vectors."""
        self.entries: dict[int, IndexedEntry] = {}
        self.photos_per_entry = 0
        """The most photos (index keys) any one entry has: how deep :meth:`top` searches."""

    def add(self, items: Iterable[tuple[int, IndexedEntry, npt.NDArray[np.float32]]]) -> None:
        """Add (key, entry, template) triples; templates are L2-normalised rows."""
        batch = list(items)
        if not batch:
            return
        keys = np.asarray([k for k, _, _ in batch], np.int64)
        self.index.add(keys, np.stack([t for _, _, t in batch]).astype(np.float32))
        for key, entry, _ in batch:
            self.entries[key] = entry
        self.photos_per_entry = max(Counter(e.ref for e in self.entries.values()).values())

    def threshold(self, entry: IndexedEntry) -> float:
        """The decision threshold of the entry's deployment (R22)."""
        return self.thresholds[entry.deployment_id]

    def top(self, templates: npt.NDArray[np.float32], k: int) -> list[list[Match]]:
        """For each template, its ``k`` best *entries*, best first, without a threshold: each
        entry once, scored by its best photo. Fewer when the lists hold fewer entries.

        Synchronous CPU work: the pipeline calls it in the executor.
        """
        if len(templates) == 0:
            return []
        if not self.entries or k < 1:
            return [[] for _ in range(len(templates))]
        # The k best entries' best photos are among the k × (photos per entry) best keys: at
        # most k − 1 entries, each with at most that many photos, can rank above any of them.
        depth = min(len(self.entries), k * max(1, self.photos_per_entry))
        found = self.index.search(templates, depth)
        out: list[list[Match]] = []
        for keys, scores in zip(found.keys, found.scores, strict=True):
            row: list[Match] = []
            seen: set[tuple[str, str]] = set()
            for key, score in zip(keys.tolist(), scores.tolist(), strict=True):
                entry = self.entries.get(int(key))
                if entry is None or entry.ref in seen:
                    continue
                seen.add(entry.ref)
                row.append(Match(int(key), entry, float(score)))
                if len(row) == k:
                    break
            out.append(row)
        return out
