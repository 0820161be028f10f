"""Connects the governed core's lists to the live pipeline.

It watches which deployments are live, loads their watch and blue lists into a vector index
for the matcher, and writes the per-minute face counts — the only trace of everyone else (R3).
An authorised deployment that is not live yet is matched on its blue list alone while one of
its blue-list walk-pasts is open (the technical lead's check before going live, R21): its
volunteers give test events, nobody else is looked up, and it gets no face counts.
The matcher's evidence becomes candidates through :mod:`kernel.pipeline.candidates`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from kernel.config import MatchingConfig, valid_threshold
from kernel.domain.governance import Governance
from kernel.domain.thresholds import FLOOR
from kernel.errors import StorageFault
from kernel.pipeline.live import LivePipeline
from kernel.pipeline.watchlist_index import IndexedEntry, LiveWatchlist
from kernel.protocols.index import VectorIndex

log = logging.getLogger("pinchpoint.matching")

class MatchingSession:
    """Loads the live deployments' lists into the pipeline and flushes its face counts."""

    def __init__(
        self,
        governance: Governance,
        pipeline: LivePipeline,
        make_index: Callable[[], VectorIndex],
        config: MatchingConfig,
    ) -> None:
        self.gov = governance
        self.pipeline = pipeline
        self.make_index = make_index
        self.config = config
        self._loaded: tuple[tuple[str, int, float, str], ...] | None = None
        self._counted: tuple[str, ...] = ()
        """The live deployments the face counts are written for (not those in a check)."""

    async def refresh(self) -> None:
        """Load the live deployments' lists (and the blue lists of the deployments in a
        pre-live check) into a fresh index when they changed."""
        live = await self.gov.deployments.live()
        checks = await self.gov.watchlists.checking(self.gov.ctx.clock.now())
        fingerprint = tuple(
            (d.id, d.watchlist_version, self.config.decision_threshold(d.match_threshold),
             d.state)
            for d in (*live, *checks)
        )
        if fingerprint == self._loaded:
            return
        self._counted = tuple(sorted(d.id for d in live))
        for d in live:
            if d.match_threshold is not None and not valid_threshold(d.match_threshold):
                log.warning("deployment %s: stored match threshold %r is not admissible "
                            "(finite, in [%.2f, 1]); deciding at %.3f instead", d.id,
                            d.match_threshold, FLOOR, self.config.decision_threshold(None))
        if not fingerprint:
            self.pipeline.set_watchlist(None)
            self._loaded = fingerprint
            log.info("no deployment live: frames are discarded unexamined")
            return
        model_id = self.pipeline.engine.model_id
        watchlist = LiveWatchlist(self.make_index(), {d: t for d, _, t, _ in fingerprint})
        stale = 0
        for deployment in (*live, *checks):
            items = []
            blue_only = deployment.state != "live"
            for t in await self.gov.watchlists.templates(deployment.id):
                if blue_only and t.list != "blue":
                    continue  # before going live only the volunteers are looked for (R21)
                if t.model_id != model_id:
                    stale += 1
                    continue
                entry = IndexedEntry(t.deployment_id, t.entry_id, blue=t.list == "blue")
                items.append((t.key, entry, t.embedding))
            # An HNSW build of a large list takes seconds: never on the event loop.
            await self.pipeline.executor.run(watchlist.add, items)
        if stale:
            log.warning("%d template(s) were made by another model or alignment and are not "
                        "searched; re-enrol those photos", stale)
        self.pipeline.set_watchlist(watchlist)
        self._loaded = fingerprint
        log.info("matching against %d template(s) of %d live deployment(s)%s",
                 len(watchlist.entries), len(live),
                 f" and the blue list of {len(checks)} in a pre-live check" if checks else "")

    async def flush_counts(self, final: bool = False) -> None:
        """Write finished minutes' face counts (all of them when ``final``)."""
        watchlist = self.pipeline.watchlist
        if watchlist is None:
            self.pipeline.counts.drain(None if final else self.gov.ctx.clock.now())
            return
        # a deployment in a pre-live check is not counted: its faces are no deployment's yet
        deployment_ids = [d for d in self._counted if d in watchlist.thresholds]
        counts = self.pipeline.counts.drain(None if final else self.gov.ctx.clock.now())
        for i, count in enumerate(counts):
            for j, deployment_id in enumerate(deployment_ids):
                try:
                    await self.gov.reports.record_face_counts(
                        deployment_id, count.camera_id, count.minute, count.seen,
                        count.matched)
                except StorageFault:
                    # Kept for the next flush (issue 12, finding 7); the store logged the
                    # fault. A count already written for an earlier deployment is not kept.
                    self.pipeline.counts.restore(counts[i + (j > 0):])
                    if final:
                        log.warning("%d minute count(s) not written at stop: %s",
                                    len(counts) - i, self.gov.faults.current)
                    return

    async def run(self) -> None:
        """Supervised loop: refresh lists every ``refresh_s``; flush counts every minute."""
        since_flush = 0.0
        try:
            while True:
                await self.refresh()
                await asyncio.sleep(self.config.refresh_s)
                since_flush += self.config.refresh_s
                if since_flush >= self.config.counts_flush_s:
                    await self.flush_counts()
                    since_flush = 0.0
        finally:
            await asyncio.shield(self.flush_counts(final=True))
