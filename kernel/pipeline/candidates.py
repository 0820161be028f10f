"""Where the live pipeline's matches become governed records: persisted before anyone hears."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from kernel.domain.governance import Governance
from kernel.domain.records import AlertRecord
from kernel.pipeline.live import CandidateEvidence

CandidateListener = Callable[[AlertRecord], Awaitable[None]]


class CandidateRecorder:
    """The pipeline's :class:`~kernel.pipeline.live.CandidateSink`: each match becomes a
    candidate alert in the governed core (encrypted evidence, audit row) in one commit.

    Built before the pipeline and handed to it. ``listeners`` are called after the commit,
    never before (the demo and the walk-past evaluation print or count candidates).
    """

    def __init__(self, governance: Governance) -> None:
        self.gov = governance
        self.listeners: list[CandidateListener] = []

    async def raise_candidate(self, evidence: CandidateEvidence) -> None:
        record = await self.gov.alerts.create_candidate(
            evidence.deployment_id, evidence.entry_id, evidence.camera_id, evidence.score,
            evidence.captured_at, evidence.face_jpeg, evidence.torso_jpeg,
        )
        for listener in self.listeners:
            await listener(record)
