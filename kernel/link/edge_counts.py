"""An edge's face counts sent to the console (issue 13, R3, R20).

The pipeline counts faces (tracks) per camera and minute (:mod:`kernel.pipeline.face_counts`):
the only trace a face that matched nothing leaves. On an edge, every ``flush_s`` what has been
counted since the last flush (the current minute's part included: the console adds counts up,
so a minute sent in parts sums the same) becomes one :class:`FaceCountsMessage` for the
deployments whose lists the edge holds then, and is queued and published in order with its
key, resent with the same key until the broker acknowledges it (deduplicated there). Numbers
and ids only cross the link. While the link is down the messages wait in a bounded queue
(beyond it the oldest flush is dropped, counted and logged: counts, never a match); a stop
flushes once more and tries to send for a moment, then says what it could not send.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime

import msgspec

from kernel.link.messages import FaceCountsMessage, MinuteTally
from kernel.pipeline.face_counts import FaceCounter
from kernel.protocols.link import LinkDown, NodeLink

log = logging.getLogger("pinchpoint.link.counts")

STOP_SEND_S = 2.0
"""How long a stopping edge tries to send its last counts (a stop must not hang on a link)."""


class EdgeCounts:
    """Flushes the edge's face counter every ``flush_s`` and publishes the flushes in order."""

    def __init__(self, link: NodeLink, node_id: str, counter: FaceCounter,
                 deployments: Callable[[], Sequence[str]], now: Callable[[], datetime],
                 flush_s: float, capacity: int = 1024, retry_s: float = 0.5,
                 retry_max_s: float = 10.0) -> None:
        self.link = link
        self.node_id = node_id
        self.counter = counter
        self.deployments = deployments
        """The deployments the edge matches for now (the lists it holds)."""
        self.now = now
        self.flush_s = flush_s
        self.capacity = capacity
        self.retry_s = retry_s
        self.retry_max_s = retry_max_s
        self._queue: deque[tuple[str, bytes]] = deque()
        self._down = False
        self.sent = 0
        self.dropped = 0
        """Flushes dropped from a full queue while the link was down (counts lost, logged)."""

    @property
    def queued(self) -> int:
        return len(self._queue)

    def flush(self) -> FaceCountsMessage | None:
        """Drain the counter into one queued message; None when there is nothing to send (no
        face counted, or no list held: no deployment to count them for)."""
        counts = self.counter.drain(None)
        deployments = tuple(sorted(self.deployments()))
        if not counts or not deployments:
            return None
        message = FaceCountsMessage(
            key=secrets.token_hex(8), node_id=self.node_id, deployments=deployments,
            counts=tuple(MinuteTally(camera_id=c.camera_id, minute=c.minute.timestamp(),
                                     seen=c.seen, matched=c.matched) for c in counts))
        if len(self._queue) >= self.capacity:
            self._queue.popleft()
            self.dropped += 1
            log.error("face-count queue full (%d) while the link is down: the oldest flush "
                      "is dropped (%d so far)", self.capacity, self.dropped)
        self._queue.append((message.key, msgspec.msgpack.encode(message)))
        return message

    async def send(self) -> None:
        """Publish the queue oldest first until it is empty or the link refuses (then the
        head stays, to be sent again with its key)."""
        while self._queue:
            key, data = self._queue[0]
            try:
                await self.link.publish_counts(self.node_id, key, data)
            except LinkDown as exc:
                if not self._down:
                    self._down = True
                    log.warning("link down (%s): face counts wait (%d flush(es))", exc,
                                len(self._queue))
                raise
            self._queue.popleft()
            self.sent += 1
            if self._down and not self._queue:
                self._down = False
                log.info("link back: queued face counts sent")

    async def run(self) -> None:
        """Flush every ``flush_s`` and send, retrying with backoff while the link is down; on
        stop (cancelled), one last flush and a bounded try to send it."""
        try:
            await self._loop()
        finally:
            self.flush()
            with contextlib.suppress(LinkDown, TimeoutError, asyncio.CancelledError):
                await asyncio.shield(asyncio.wait_for(self.send(), STOP_SEND_S))
            if self._queue:
                log.warning("stopping with %d face-count flush(es) not sent", len(self._queue))

    async def _loop(self) -> None:
        delay = self.retry_s
        while True:
            self.flush()
            try:
                await self.send()
            except LinkDown:
                await asyncio.sleep(min(delay, self.flush_s))
                delay = min(delay * 2, self.retry_max_s)
                continue
            delay = self.retry_s
            await asyncio.sleep(self.flush_s)
