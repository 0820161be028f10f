"""The force-wide view (issue 13): ``GET /api/force``, every deployment of the store this
console uses (with a shared PostgreSQL, every console's) with its state, cameras and the
edges they are on, candidates, confirmed alerts, outcomes and retention date. Counts and
states only (:mod:`kernel.domain.force_view`)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.params import QueryParameter

from kernel.domain.force_view import EdgeCameras, ForceDeployment
from kernel.domain.records import DeploymentState
from kernel.link.list_publisher import EdgeView
from mobile_api.views import NO_STORE, context


def edge_cameras(views: list[EdgeView]) -> list[EdgeCameras]:
    """What the force-wide view needs of the edges' reports: cameras and lists held."""
    return [EdgeCameras(node_id=v.node_id, cameras=tuple(c.camera_id for c in v.cameras),
                        deployments=tuple(x.deployment_id for x in v.lists if x.held > 0))
            for v in views]


@get("/api/force", tags=["reports"])
async def force(request: Request[Any, Any, Any],
                in_state: Annotated[DeploymentState | None, QueryParameter(name="state")] = None
                ) -> Response[list[ForceDeployment]]:
    """Every deployment, oldest first (``?state=live``: only those in that state): state,
    live and end times, ``retention_due`` (when its data not on legal hold is deleted), its
    cameras each with the edge reporting it, the edges holding its list, faces seen,
    candidates, pending, confirmed (one per person), rejected, outcomes by kind, held. No
    image, no watch-list entry, no case reference, no name of a person."""
    backend, _ = context(request)
    found = await backend.governance.force.overview(edge_cameras(list(backend.edges())),
                                                     in_state)
    return Response(found, headers=NO_STORE)


HANDLERS = [force]
