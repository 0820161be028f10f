"""The camera placement view (technical lead, admin): one camera's newest face boxes, each
face's pixel width and live-gate verdict, the last minute's face-size histogram and the share
too small to match (:mod:`kernel.pipeline.placement`). Boxes and numbers only: no image of a
face or of the scene leaves the server (R3), and nothing of it is stored."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath

from kernel.pipeline.placement import PlacementView
from mobile_api.views import NO_STORE, context


@get("/api/cameras/{camera_id:str}/placement", tags=["health"])
async def placement(camera_id: FromPath[str], request: Request[Any, Any, Any]
                    ) -> Response[PlacementView]:
    """The camera's placement view now; reading it keeps the camera watched for 5 s (poll
    faster than that). 404 for a camera that is not configured; 503 when this process runs
    no pipeline."""
    backend, _ = context(request)
    if camera_id not in {c.camera_id for c in backend.health()}:
        raise NotFoundException(f"no camera {camera_id}")
    if backend.placement is None:
        raise HTTPException(status_code=503, detail="this process runs no face pipeline")
    return Response(backend.placement.view(camera_id), headers=NO_STORE)


HANDLERS = [placement]
