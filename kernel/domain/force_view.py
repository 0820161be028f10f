"""The force-wide view (issue 13): every deployment of the store with its state, cameras,
candidates, confirmed alerts, outcomes and when its data falls due for deletion, for the
command team and the technical lead (``GET /api/force``).

With a shared PostgreSQL store every console's deployments are in it, so one console shows
the force's. Counts are added up by the store (:meth:`~kernel.protocols.store.
StatisticsRepository.tallies`), never by loading alerts. Nothing personal: ids, the
deployment's name and location, states and numbers; no image, no watch-list entry, no
case reference, no officer or command-team name.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import msgspec

from kernel.domain.context import DomainContext
from kernel.domain.records import DeploymentState, EdgeRecord
from kernel.domain.retention import RETENTION

FRESH = timedelta(minutes=3)
"""An edge another console recorded shows in the force-wide view while its report is this
recent: a console records an edge's report when what it holds changes and at least once a
minute (:data:`kernel.link.list_publisher.RECORD_EVERY`), so an older row is an edge that
has gone silent (or a console that has)."""


class EdgeCameras(msgspec.Struct, frozen=True):
    """What the console knows of one edge from its last report: its cameras and the
    deployments whose watch list it holds."""

    node_id: str
    cameras: tuple[str, ...]
    deployments: tuple[str, ...]


class ForceCamera(msgspec.Struct, frozen=True):
    camera_id: str
    edge: str | None
    """The edge that reports this camera (this console's, or another console's recorded
    within :data:`FRESH`); ``None``: no edge does (this node's own camera, or an edge
    silent since)."""


class ForceDeployment(msgspec.Struct, kw_only=True, frozen=True):
    """One deployment in the force-wide view."""

    deployment_id: str
    name: str
    location: str
    state: DeploymentState
    console: str | None
    """The console that runs it (its ``[node] id``; ``None``: every console publishes it)."""
    live_at: datetime | None
    ended_at: datetime | None
    retention_due: datetime | None
    """When its alerts without further action, its blue-list events and its watch list are
    deleted (R12-R15, R21: 30 days after the end); ``None`` until it has ended. Alerts on
    legal hold (``held``) are kept past it until released."""
    cameras: tuple[ForceCamera, ...]
    edges: tuple[str, ...]
    """The edges that hold its watch list now (by their reports)."""
    faces_seen: int
    candidates: int
    pending: int
    confirmed: int
    rejected: int
    outcomes: dict[str, int]
    held: int


class ForceView:
    """``governance.force``."""

    def __init__(self, ctx: DomainContext) -> None:
        self.ctx = ctx

    async def record_edges(self, console: str, edges: Sequence[EdgeRecord]) -> None:
        """Keep what ``console`` read of these edges' reports in the store, for every console
        sharing it (ids and times only)."""
        if not edges:
            return
        async with self.ctx.store.transaction() as tx:
            for edge in edges:
                await tx.statistics.put_edge(msgspec.structs.replace(edge, console=console))

    async def overview(self, edges: Sequence[EdgeCameras] = (),
                       state: DeploymentState | None = None) -> list[ForceDeployment]:
        """Every deployment, oldest first (only those in ``state`` when given), each with the
        cameras the store counted for it and those of the edges holding its list: ``edges``
        (this console's, as it reads them now) and every other edge a console sharing the
        store recorded within :data:`FRESH`."""
        async with self.ctx.store.transaction() as tx:
            deployments = {d.id: d for d in await tx.deployments.all()}
            tallies = await tx.statistics.tallies()
            recorded = await tx.statistics.edges()
        since = self.ctx.clock.now() - FRESH
        mine = {e.node_id for e in edges}
        edges = [*edges, *(EdgeCameras(node_id=r.node_id, cameras=r.cameras,
                                       deployments=r.deployments)
                           for r in recorded if r.node_id not in mine and r.reported_at >= since)]
        camera_edge: dict[str, str] = {}
        for e in sorted(edges, key=lambda e: e.node_id):
            for camera in e.cameras:
                camera_edge.setdefault(camera, e.node_id)
        out: list[ForceDeployment] = []
        for t in tallies:
            d = deployments.get(t.deployment_id)
            if d is None or (state is not None and d.state != state):
                continue  # created between the two reads: the next refresh shows it
            holders = tuple(sorted(e.node_id for e in edges if d.id in e.deployments))
            cameras = set(t.cameras) | {c for e in edges if e.node_id in holders
                                        for c in e.cameras}
            ended = d.ended_at if d.state in ("ended", "closed") else None
            out.append(ForceDeployment(
                deployment_id=d.id, name=d.name, location=d.location, state=d.state,
                console=d.console, live_at=d.live_at, ended_at=d.ended_at,
                retention_due=ended + RETENTION if ended is not None else None,
                cameras=tuple(ForceCamera(c, camera_edge.get(c)) for c in sorted(cameras)),
                edges=holders, faces_seen=t.faces_seen, candidates=t.candidates,
                pending=t.pending, confirmed=t.confirmed, rejected=t.rejected,
                outcomes=t.outcomes, held=t.held))
        return out
