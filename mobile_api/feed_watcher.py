"""Turns committed candidate and alert changes into live-feed events (R4, R5, R21).

The watcher reads the committed alerts through the domain
(:meth:`kernel.domain.alerts.Alerts.of_live_deployments`), so it announces only what is
committed (persist before announce), whoever committed it: the pipeline's candidates, the
operator's decisions made through this API (which wake it at once with
:meth:`FeedWatcher.poke`) or another process. A slow poll catches the rest, so a new
candidate reaches the operator within ``poll`` seconds.

Topics: ``candidate`` (a new watch-list candidate), ``test`` (a blue-list test event),
``decision`` (a candidate confirmed or rejected) for the operator; ``alert`` (a confirmed
alert) for officers: the only topic officers subscribe to (R5).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from kernel.domain.governance import Governance
from kernel.domain.records import AlertRecord
from kernel.events import EventBus

log = logging.getLogger("pinchpoint.api.feed")


class FeedWatcher:
    """Compares the alerts of live deployments with what it saw last, and publishes."""

    def __init__(self, governance: Governance, bus: EventBus, poll: float = 0.5) -> None:
        self.governance = governance
        self.bus = bus
        self.poll = poll
        self._known: dict[str, str] = {}
        self._primed = False
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()

    def poke(self) -> None:
        """Look now: called right after the API committed a decision."""
        self._wake.set()

    async def run(self) -> None:
        """Scan until cancelled. A failing scan is logged and retried at the next tick."""
        while True:
            try:
                await self.scan()
            except Exception as exc:  # the feed must outlive a transient store error
                log.warning("live feed scan failed: %s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll)
            self._wake.clear()

    async def scan(self) -> int:
        """Publish what changed since the last scan; returns how many events went out. The
        first scan only learns the current state (clients fetch lists over REST anyway)."""
        async with self._lock:
            alerts = await self.governance.alerts.of_live_deployments()
            published = 0
            seen: dict[str, str] = {}
            for a in alerts:
                seen[a.id] = a.state
                before = self._known.get(a.id)
                if self._primed and before != a.state:
                    published += self._announce(a, before)
            self._known = seen
            self._primed = True
            return published

    def _announce(self, a: AlertRecord, before: str | None) -> int:
        base = {"alert_id": a.id, "deployment_id": a.deployment_id, "category": a.category,
                "camera_id": a.camera_id}
        n = 0
        if a.state == "test" and before is None:
            self.bus.publish("test", {"test"}, {**base, "score": round(a.score, 4),
                                                "captured_at": a.captured_at.isoformat()})
            return 1
        if before is None and a.state in ("candidate", "confirmed", "rejected"):
            self.bus.publish("candidate", {"candidate"},
                             {**base, "score": round(a.score, 4),
                              "captured_at": a.captured_at.isoformat()})
            n += 1
        if a.state in ("confirmed", "rejected"):
            self.bus.publish("decision", {"decision"},
                             {"alert_id": a.id, "deployment_id": a.deployment_id,
                              "state": a.state, "decided_by": a.decided_by or ""})
            n += 1
        if a.state == "confirmed":
            # R5: the only event officers can receive, and only for a committed confirmation
            self.bus.publish("alert", {"alert"},
                             {**base, "confirmed_at": (a.decided_at.isoformat()
                                                       if a.decided_at else "")})
            n += 1
        return n
