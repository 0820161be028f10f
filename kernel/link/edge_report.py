"""An edge's report of itself to the console: the list versions it holds (its
acknowledgement of every change), its cameras and its candidate queue. Ids and counters only."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import msgspec

from kernel.clock import Clock
from kernel.health import CameraHealth
from kernel.link.edge_candidates import RemoteCandidates
from kernel.link.edge_lists import EdgeLists
from kernel.link.messages import CameraReport, EdgeReport
from kernel.protocols.link import LinkDown, NodeLink

log = logging.getLogger("pinchpoint.link.report")


class EdgeReporter:
    """Puts the edge's report every ``report_s``, and soon after :meth:`changed`."""

    def __init__(self, link: NodeLink, node_id: str, clock: Clock, lists: EdgeLists,
                 candidates: RemoteCandidates, health: Callable[[], list[CameraHealth]],
                 report_s: float) -> None:
        self.link = link
        self.node_id = node_id
        self.clock = clock
        self.lists = lists
        self.candidates = candidates
        self.health = health
        self.report_s = report_s
        self._changed = asyncio.Event()

    def changed(self) -> None:
        """The lists changed: report now (the console waits for this acknowledgement)."""
        self._changed.set()

    def report(self) -> EdgeReport:
        return EdgeReport(
            node_id=self.node_id, at=self.clock.now().timestamp(),
            lists=tuple(h for _, h in sorted(self.lists.held.items())),
            cameras=tuple(CameraReport(camera_id=h.camera_id, state=str(h.task.state),
                                       processed=h.processed, dropped=h.dropped)
                          for h in self.health()),
            queued=self.candidates.queued, published=self.candidates.published,
            refused=self.candidates.refused)

    async def run(self) -> None:
        while True:
            self._changed.clear()
            # a link down: the lists and the queue say so in the log; the next round retries
            with contextlib.suppress(LinkDown):
                await self.link.put_report(self.node_id, msgspec.msgpack.encode(self.report()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), self.report_s)
