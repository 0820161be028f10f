"""Camera health for the operator's strip and the technical lead (from ``runtime.health()``)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get

from kernel.health import CameraHealth
from mobile_api.views import context


@get("/api/health/cameras", tags=["health"])
async def cameras(request: Request[Any, Any, Any]) -> list[CameraHealth]:
    """Per camera: supervised task state, counters, drops."""
    backend, _ = context(request)
    return list(backend.health())


HANDLERS = [cameras]
