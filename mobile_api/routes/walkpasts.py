"""Blue-list walk-pasts (R21): the technical lead (for a volunteer) declares "walking past
camera N now", and reads each declared walk's score (detected or not, the time to candidate).
The scoring and the periods are the domain's (:mod:`kernel.domain.bluelist_scores`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath, JSONBody

from kernel.domain.bluelist_scores import WALK_WINDOW_S, WalkScore
from kernel.domain.records import BlueWalk
from mobile_api.schemas import BlueWalkIn
from mobile_api.views import NO_STORE, context


@post("/api/deployments/{deployment_id:str}/bluelist/walks", status_code=201,
      tags=["watch lists"])
async def blue_walk(deployment_id: FromPath[str], data: JSONBody[BlueWalkIn],
                    request: Request[Any, Any, Any]) -> BlueWalk:
    """Declare a volunteer's walk-past for the detection rate: without ``at``, starting now
    and lasting ``seconds`` (60 by default) on ``camera_id``; answers the walk as recorded.
    An unknown camera is 404: a walk past a camera that does not exist cannot be found."""
    backend, s = context(request)
    if data.at is not None and data.at.tzinfo is None:
        raise HTTPException(status_code=400, detail="'at' must carry a timezone")
    if data.camera_id is not None and data.camera_id not in {
            c.camera_id for c in backend.health()}:
        raise NotFoundException(f"no camera {data.camera_id}")
    at = data.at or backend.clock.now()
    windowed = data.at is None or data.seconds is not None or data.camera_id is not None
    until = at + timedelta(seconds=data.seconds or WALK_WINDOW_S) if windowed else None
    return await backend.governance.watchlists.record_blue_walk(
        deployment_id, data.entry_id, at, s.user, until=until, camera_id=data.camera_id)


@get("/api/deployments/{deployment_id:str}/bluelist/walks", tags=["watch lists"])
async def blue_walks(deployment_id: FromPath[str], request: Request[Any, Any, Any]
                     ) -> Response[list[WalkScore]]:
    """Every declared walk-past with its score, oldest first (R21)."""
    backend, _ = context(request)
    return Response(await backend.governance.reports.blue_walks(deployment_id),
                    headers=NO_STORE)


HANDLERS = [blue_walk, blue_walks]
