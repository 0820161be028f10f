"""Where the live pipeline's matches become governed records: persisted before anyone hears.

A storage fault (full disk, immutable or read-only database, a lock held too long) must not
lose a match nor crash the pipeline (issue 12, finding 7): the accepted candidate, already
encrypted and with its alert id, is held in memory (bounded), retried with backoff by
:meth:`CandidateRecorder.run`, and stored in order, once each, when the fault clears; only
then is it announced. Only matches are held (R3: the matcher hands nothing else here).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from kernel import crashpoints
from kernel.domain.alerts import SealedCandidate
from kernel.domain.errors import DomainError
from kernel.domain.governance import Governance
from kernel.errors import StorageFault
from kernel.health import HeldCandidates
from kernel.pipeline.live import CandidateEvidence

log = logging.getLogger("pinchpoint.pipeline.candidates")


class CandidateRecorder:
    """The pipeline's :class:`~kernel.pipeline.live.CandidateSink`: each match becomes a
    candidate alert in the governed core (encrypted evidence, audit row) in one commit.

    Built before the pipeline and handed to it; :meth:`run` (a supervised task) writes what a
    storage fault held back. Who wants to hear of a candidate subscribes to
    ``governance.events`` (:class:`~kernel.domain.events.CandidateRaised`, published after
    the commit, never before): the live feed, the demo, the walk-past evaluation.
    """

    def __init__(self, governance: Governance, capacity: int = 256, retry_s: float = 0.5,
                 retry_max_s: float = 10.0) -> None:
        self.gov = governance
        self.capacity = capacity
        self.retry_s = retry_s
        self.retry_max_s = retry_max_s
        self._held: deque[SealedCandidate] = deque()
        self._wake = asyncio.Event()
        self._refusing = False
        self.refused = 0
        """Accepted candidates refused because the buffer was full (each a lost match)."""
        self.stored_late = 0
        """Held candidates stored once the fault cleared."""
        self.discarded = 0
        """Held candidates the domain no longer accepts (their deployment ended meanwhile)."""

    def health(self) -> HeldCandidates:
        """What health shows of the buffer."""
        return HeldCandidates(held=len(self._held), capacity=self.capacity,
                              refused=self.refused, stored_late=self.stored_late,
                              discarded=self.discarded,
                              refusing=len(self._held) >= self.capacity)

    async def raise_candidate(self, evidence: CandidateEvidence) -> None:
        """Seal the match and store it; on a storage fault, or while others are held (they
        go first: order is kept), hold it. Never raises a :class:`StorageFault`."""
        crashpoints.reached("candidate.accepted")
        sealed = await self.gov.alerts.seal_candidate(
            evidence.deployment_id, evidence.entry_id, evidence.camera_id, evidence.score,
            evidence.captured_at, evidence.face_jpeg, evidence.torso_jpeg,
        )
        if self._held:
            self._hold(sealed)
            return
        try:
            await self.gov.alerts.store_candidate(sealed)
        except StorageFault:
            self._hold(sealed)

    def _hold(self, sealed: SealedCandidate) -> None:
        if len(self._held) >= self.capacity:
            self.refused += 1
            if not self._refusing:  # logged once per full spell, not per candidate
                self._refusing = True
                log.error("held-candidate buffer full (%d): new candidates are refused, "
                          "counted, until storage recovers", self.capacity)
            return
        if not self._held:
            log.warning("storage refuses writes: holding candidates in memory (at most %d)",
                        self.capacity)
        self._held.append(sealed)
        self._wake.set()

    async def run(self) -> None:
        """Write the held candidates, oldest first, retrying with backoff while the fault
        lasts; each is stored once (its alert id makes a retry idempotent) and then
        announced by the domain. Runs until cancelled."""
        try:
            await self._drain()
        finally:
            if self._held:  # memory only (R3): a stop while the fault lasts loses these
                log.error("stopping with %d held candidate(s) not stored: %s", len(self._held),
                          self.gov.faults.current.describe() if self.gov.faults.current
                          else "storage still refused them")

    async def _drain(self) -> None:
        delay = self.retry_s
        while True:
            await self._wake.wait()
            while self._held:
                try:
                    await self.gov.alerts.store_candidate(self._held[0])
                except StorageFault:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.retry_max_s)
                    continue
                except DomainError as exc:  # the deployment ended while it was held
                    self.discarded += 1
                    log.warning("held candidate not stored: %s", exc)
                else:
                    self.stored_late += 1
                self._held.popleft()
                self._refusing = False
                delay = self.retry_s
                if not self._held:
                    log.warning("storage recovered: every held candidate is stored "
                                "(%d so far)", self.stored_late)
            self._wake.clear()
