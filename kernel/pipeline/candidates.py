"""Where the live pipeline's matches become governed records: persisted before anyone hears."""

from __future__ import annotations

from kernel.domain.governance import Governance
from kernel.pipeline.live import CandidateEvidence


class CandidateRecorder:
    """The pipeline's :class:`~kernel.pipeline.live.CandidateSink`: each match becomes a
    candidate alert in the governed core (encrypted evidence, audit row) in one commit.

    Built before the pipeline and handed to it. Who wants to hear of a candidate subscribes
    to ``governance.events`` (:class:`~kernel.domain.events.CandidateRaised`, published after
    the commit, never before): the live feed, the demo, the walk-past evaluation.
    """

    def __init__(self, governance: Governance) -> None:
        self.gov = governance

    async def raise_candidate(self, evidence: CandidateEvidence) -> None:
        await self.gov.alerts.create_candidate(
            evidence.deployment_id, evidence.entry_id, evidence.camera_id, evidence.score,
            evidence.captured_at, evidence.face_jpeg, evidence.torso_jpeg,
        )
