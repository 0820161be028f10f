"""Service seam: long-running parts that serve the running kernel (the HTTP API, a metrics
exporter). They are supervised like cameras.

A service is handed a :class:`ServiceContext`, the narrow, typed part of the running kernel it
may use, never the runtime itself. Adapters that need HTTP endpoints (the WHIP ingest of
``camera.webrtc``) do not run a service of their own: they contribute routes to the HTTP
service through the entry-point group ``pinchpoint.http_routes``
(:func:`kernel.registry.http_routes`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

import msgspec

from kernel.clock import Clock
from kernel.config import Config
from kernel.delivery.dispatcher import SinkProgress
from kernel.domain.governance import Governance
from kernel.events import EventBus
from kernel.executor import BoundedExecutor
from kernel.health import CameraHealth, SystemHealth
from kernel.link.list_publisher import EdgeView
from kernel.pipeline.placement import PlacementWatch
from kernel.protocols.engine import FaceEngine


class ServiceContext(msgspec.Struct, frozen=True, kw_only=True):
    """What a service may use of the running kernel.

    - ``config``: the whole validated configuration (``[server]``, ``data_dir``, …).
    - ``clock``, ``executor``: as adapters get them
      (:class:`~kernel.protocols.adapter.AdapterContext`).
    - ``governance()``: the governed core; the runtime's own when it runs one, else one
      opened for the services on the configured store (and closed when the runtime stops).
    - ``engine()``: the face engine; the pipeline's when the runtime runs one, else one built
      from ``[engine]`` on first use (raises ``LookupError`` when none is configured).
    - ``events``: the live feed's bus (post-commit events for the API's subscribers).
    - ``health()``: each camera's state for the health strip.
    - ``status()``: the store's fault while it lasts and the held candidates
      (:class:`~kernel.health.SystemHealth`); ``None``: health reads the store's alone.
    - ``sinks()``: each alert sink's delivery state (an outage names itself there).
    - ``edges()``: on a console, each edge as it last reported (the list versions it holds
      against the published ones, its cameras, its queue); empty on other roles.
    - ``placement``: the cameras' placement views (:mod:`kernel.pipeline.placement`);
      ``None`` when the runtime runs no pipeline.
    """

    config: Config
    clock: Clock
    executor: BoundedExecutor
    governance: Callable[[], Awaitable[Governance]]
    engine: Callable[[], Awaitable[FaceEngine]]
    events: EventBus
    health: Callable[[], list[CameraHealth]]
    status: Callable[[], SystemHealth] | None = None
    sinks: Callable[[], list[SinkProgress]] = lambda: []
    edges: Callable[[], list[EdgeView]] = lambda: []
    placement: PlacementWatch | None = None


@runtime_checkable
class Service(Protocol):
    """Runs alongside the pipeline until cancelled.

    ``serve`` returns only when the service stops; raising makes the supervisor restart it
    with backoff. It must stop promptly when cancelled. Registered as ``service.<name>``.
    """

    async def serve(self, context: ServiceContext) -> None:
        """Serve until cancelled."""
        ...
