"""An edge's candidate commit: the pipeline's matches sealed and sent to the console.

:class:`RemoteCandidates` is the pipeline's :class:`~kernel.pipeline.live.CandidateSink` on an
edge, as :class:`~kernel.pipeline.candidates.CandidateRecorder` is in one process: the pipeline
does not know which it has. Each match gets its key here (the alert id it becomes), is sealed
under its deployment's evidence key (from the list secret the edge holds with the list) and
queued in memory (bounded, ``[node] queue``); one publisher sends the queue oldest first and
takes a message off only once the broker acknowledged it, so while the link is down the edge
keeps analysing and the candidates arrive in order when it returns, each once (a resend after
an unanswered publish carries the same key: the broker and the console's insert both
deduplicate by it). Only matches are queued (R3: the matcher hands nothing else here); the
queue is memory only, so a stop while the link is down loses what it held, and says so, unless
the link has a durable outbox on the edge (``link.nats`` ``outbox_url``), which takes each
one at once.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import deque
from collections.abc import Callable

import msgspec

from kernel.link.cipher import LinkCipher, SealBroken
from kernel.link.messages import CandidatePayload, SealedCandidateMessage
from kernel.pipeline.live import CandidateEvidence
from kernel.protocols.link import LinkDown, NodeLink

log = logging.getLogger("pinchpoint.link.candidates")


class RemoteCandidates:
    """Seals each match, queues it, and publishes the queue in order (:meth:`run`)."""

    def __init__(self, link: NodeLink, cipher: LinkCipher, node_id: str,
                 version_of: Callable[[str], int] = lambda _deployment: 0,
                 capacity: int = 1024,
                 retry_s: float = 0.5, retry_max_s: float = 10.0) -> None:
        self.link = link
        self.cipher = cipher
        self.node_id = node_id
        self.version_of = version_of
        """deployment id → the list version the matcher holds (the edge's lists)."""
        self.capacity = capacity
        self.retry_s = retry_s
        self.retry_max_s = retry_max_s
        self._queue: deque[tuple[str, bytes]] = deque()
        self._wake = asyncio.Event()
        self._down = False
        self._refusing = False
        self.published = 0
        self.refused = 0
        """Matches refused because the queue was full (each a lost match, logged)."""
        self.withdrawn = 0
        """Matches not sent because their deployment's list (and its secret) was dropped
        between the match and the seal: ended or wiped, the console would refuse them."""

    @property
    def queued(self) -> int:
        return len(self._queue)

    async def raise_candidate(self, evidence: CandidateEvidence) -> None:
        """Seal and queue one match; never blocks on the link."""
        if len(self._queue) >= self.capacity:
            self.refused += 1
            if not self._refusing:  # once per full spell, not per candidate
                self._refusing = True
                log.error("candidate queue full (%d) while the link is down: new candidates "
                          "are refused, counted", self.capacity)
            return
        key = secrets.token_hex(8)
        payload = msgspec.msgpack.encode(CandidatePayload(
            entry_id=evidence.entry_id, camera_id=evidence.camera_id, score=evidence.score,
            face_jpeg=evidence.face_jpeg, torso_jpeg=evidence.torso_jpeg))
        try:
            sealed = self.cipher.seal("evidence", evidence.deployment_id, key, payload)
        except SealBroken:
            self.withdrawn += 1
            log.warning("a match of deployment %s is not sent: its list was withdrawn "
                        "(ended or wiped) before it was sealed", evidence.deployment_id)
            return
        finally:
            del payload
        message = SealedCandidateMessage(
            key=key, node_id=self.node_id, deployment_id=evidence.deployment_id,
            list_version=self.version_of(evidence.deployment_id),
            captured_at=evidence.captured_at.timestamp(), sealed=sealed)
        self._queue.append((key, msgspec.msgpack.encode(message)))
        self._wake.set()

    async def run(self) -> None:
        """Publish the queue oldest first, retrying the head with backoff while the link is
        down. Runs until cancelled."""
        try:
            await self._drain()
        finally:
            if self._queue:
                log.error("stopping with %d candidate(s) not yet acknowledged by the broker",
                          len(self._queue))

    async def _drain(self) -> None:
        delay = self.retry_s
        while True:
            await self._wake.wait()
            while self._queue:
                key, data = self._queue[0]
                try:
                    await self.link.publish_candidate(self.node_id, key, data)
                except LinkDown as exc:
                    if not self._down:
                        self._down = True
                        log.warning("link down (%s): candidates are queued in order (at "
                                    "most %d) and sent when it returns", exc, self.capacity)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.retry_max_s)
                    continue
                self._queue.popleft()
                self.published += 1
                self._refusing = False
                delay = self.retry_s
                if self._down and not self._queue:
                    self._down = False
                    log.warning("link back: every queued candidate is sent (%d so far)",
                                self.published)
            self._wake.clear()
