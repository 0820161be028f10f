"""A console's intake of the edges' face counts (issue 13, R20): added, then acknowledged.

Each message (:class:`~kernel.link.messages.FaceCountsMessage`, ids and numbers only) is
checked, its counts added to every deployment it names in one transaction
(:meth:`kernel.domain.reports.Reports.record_edge_counts`; a deployment this store does not
know is left out), and only then acknowledged; a storage fault leaves it for later. What is not
a well-formed counts message is dead-lettered (described, never copied) and never comes again.
The message's key (the edge's, checked equal to the broker's message id) is recorded in the
same transaction: a console killed between the commit and the acknowledgement finds it when
the message is redelivered and adds nothing twice (acknowledged, counted in ``repeated``).
"""

from __future__ import annotations

import asyncio
import logging
import math
from datetime import UTC, datetime

import msgspec

from kernel.domain.governance import Governance
from kernel.domain.records import FaceCount
from kernel.errors import StorageFault
from kernel.link.messages import KEY_PATTERN, DeadLetter, FaceCountsMessage
from kernel.protocols.link import Delivery, LinkDown, NodeLink

log = logging.getLogger("pinchpoint.link.counts")

_EPOCH_MAX = 2.0 ** 33


class Refused(Exception):
    """A counts message this console cannot take (dead-lettered)."""


def read_counts(data: bytes, key: str | None) -> list[FaceCount]:
    """The face counts of one message, one per deployment it names; :class:`Refused`."""
    try:
        msg = msgspec.msgpack.decode(data, type=FaceCountsMessage)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise Refused(f"not a face-counts message ({exc})") from None
    if key != msg.key:
        raise Refused("the message id is not the message's key")
    out = []
    for tally in msg.counts:
        if not (math.isfinite(tally.minute) and 0 < tally.minute < _EPOCH_MAX):
            raise Refused("minute out of range")
        # No "matched ≤ seen" check: a track is counted seen when it begins and matched at
        # each raise, so a flush can hold the matches of a track an earlier flush counted
        # (or a repeat's second match); the three-process test dead-lettered those.
        minute = datetime.fromtimestamp(tally.minute, UTC)
        out += [FaceCount(deployment_id=d, camera_id=tally.camera_id, minute=minute,
                          seen=tally.seen, matched=tally.matched) for d in msg.deployments]
    return out


class CountsIngest:
    """The console's supervised consumer of the face-counts stream."""

    def __init__(self, link: NodeLink, governance: Governance, batch: int = 16,
                 retry_s: float = 1.0) -> None:
        self.link = link
        self.gov = governance
        self.batch = batch
        self.retry_s = retry_s
        self.messages = 0
        self.added = 0
        self.repeated = 0
        """Redelivered messages whose counts had been added already (acknowledged, not
        added again)."""
        self.dead = 0

    async def run(self) -> None:
        while True:
            try:
                deliveries = await self.link.fetch_counts(self.batch, 1.0)
            except LinkDown:
                await asyncio.sleep(self.retry_s)  # the candidates' intake logs the outage
                continue
            for delivery in deliveries:
                if not await self.settle(delivery):
                    break

    async def settle(self, delivery: Delivery) -> bool:
        """Add-then-ack one delivery (or dead-letter it); False when storage refused it."""
        try:
            counts = read_counts(delivery.data, delivery.key)
        except Refused as exc:
            await self._dead(delivery, str(exc))
            return True
        try:
            added = await self.gov.reports.record_edge_counts(counts, key=delivery.key)
        except StorageFault:
            await delivery.retry(self.retry_s)
            return False
        await delivery.ack()
        if added is None:
            self.repeated += 1
            log.info("face-counts message %d (key %s) redelivered: added before, not again",
                     delivery.seq, delivery.key)
            return True
        self.messages += 1
        self.added += added
        if added < len(counts):
            log.warning("face counts for %d unknown deployment row(s) left out",
                        len(counts) - added)
        return True

    async def _dead(self, delivery: Delivery, reason: str) -> None:
        self.dead += 1
        key = delivery.key if delivery.key and KEY_PATTERN.match(delivery.key) else None
        log.error("face-counts message %d dead-lettered: %s", delivery.seq, reason)
        record = DeadLetter(seq=delivery.seq, key=key, size=len(delivery.data), reason=reason,
                            at=self.gov.ctx.clock.now().timestamp())
        try:
            await self.link.dead_letter(msgspec.json.encode(record))
        except LinkDown:
            await delivery.retry(self.retry_s)
            return
        await delivery.reject()
