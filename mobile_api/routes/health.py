"""Health for the operator's strip and the technical lead: the cameras (``runtime.health()``)
and the process (``runtime.status()``: the store's fault, the held candidates)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from kernel.delivery.dispatcher import SinkProgress
from kernel.health import CameraHealth, SystemHealth
from kernel.link.list_publisher import EdgeView
from mobile_api.views import NO_STORE, context


@get("/api/health/cameras", tags=["health"])
async def cameras(request: Request[Any, Any, Any]) -> list[CameraHealth]:
    """Per camera: supervised task state, counters, drops."""
    backend, _ = context(request)
    return list(backend.health())


@get("/api/health", tags=["health"])
async def overall(request: Request[Any, Any, Any]) -> Response[SystemHealth]:
    """The process beside its cameras: ``status`` ok / degraded (a storage fault lasts, or
    candidates are held in memory) / failed (new candidates are refused); ``store`` names
    the fault and since when; ``candidates`` what is held, refused, stored late. It is
    answered from memory, so it works while the store refuses writes."""
    backend, _ = context(request)
    return Response(backend.status(), headers=NO_STORE)


@get("/api/health/sinks", tags=["health"])
async def sinks(request: Request[Any, Any, Any]) -> list[SinkProgress]:
    """Per alert sink: delivery state, counts, and while it cannot deliver (broker down,
    push service failing) ``retrying`` with the error and the next wait. Never notice content."""
    backend, _ = context(request)
    return list(backend.sinks())


@get("/api/health/edges", tags=["health"])
async def edges(request: Request[Any, Any, Any]) -> list[EdgeView]:
    """On a console (issue 13): each edge as it last reported — the version of every
    watch list it holds against the one published (``current`` when it acknowledged the
    latest; a wiped deployment's list shows until the edge reports it dropped), its cameras,
    its candidate queue. Empty on a single-process node. Ids and counters only."""
    backend, _ = context(request)
    return list(backend.edges())


HANDLERS = [cameras, overall, sinks, edges]
