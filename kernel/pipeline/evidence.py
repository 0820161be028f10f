"""An in-memory observer seam on the live pipeline's track decisions, for evaluation only.

An evaluation harness passes an :class:`EvidenceObserver` to
:class:`kernel.pipeline.live.LivePipeline` to see what the matcher saw at every decision step
of every track — matched or not, with no threshold applied — so it can fit a track-level
threshold on passes and compare fusion rules. Nothing here is written anywhere: the runtime
never attaches an observer, and an observer must keep what it is told in memory (R3: the
steps of non-matching tracks are evidence about people on no list).
"""

from __future__ import annotations

from typing import Protocol

import msgspec


class TrackEvidence(msgspec.Struct, frozen=True):
    """One decision step of one track: what the matcher saw, for evaluation only (in memory)."""

    camera_id: str
    track_id: int
    frame_monotonic: float
    captured_at: float
    """:attr:`kernel.frames.Frame.captured_at` (epoch seconds)."""
    box: tuple[float, float, float, float]
    templates: int
    """Templates fused so far (held by the track; at most ``fuse_max``)."""
    scores: tuple[tuple[str, str, float], ...]
    """(deployment_id, entry_id, score), best first, up to 5 entries, threshold NOT applied.
    ``fusion = "mean"``: the fused template's score per entry (its best photo);
    ``fusion = "max"``: each entry's best single-template score over the pass so far."""


class EvidenceObserver(Protocol):
    """Told of every decision step of every track, synchronously on the event loop: it must
    be cheap and must not block (copy what it needs and return)."""

    def track_evidence(self, evidence: TrackEvidence) -> None:
        """One decision step (after the track's candidate, if any, was raised)."""
        ...

    def track_ended(self, camera_id: str, track_id: int) -> None:
        """The track ended (expired, or every track was dropped when the live watch list
        changed or went off); the pipeline has forgotten its templates. Called once for each
        track that :meth:`track_evidence` was told about, never for any other."""
        ...


TOP_ENTRIES = 5
"""How many entries a :class:`TrackEvidence` carries."""
