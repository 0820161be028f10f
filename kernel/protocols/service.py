"""Service seam: long-running parts that serve the running kernel (the HTTP API, a metrics
exporter). They are supervised like cameras.

Adapters that need HTTP endpoints (the WHIP ingest of ``camera.webrtc``) do not run a service
of their own: they contribute routes to the HTTP service through the entry-point group
``pinchpoint.http_routes`` (:func:`kernel.registry.http_routes`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from kernel.runtime import Runtime


@runtime_checkable
class Service(Protocol):
    """Runs alongside the pipeline until cancelled.

    ``serve`` receives the running :class:`kernel.runtime.Runtime` (status, store, domain) and
    returns only when the service stops; raising makes the supervisor restart it with backoff.
    It must stop promptly when cancelled. Registered as ``service.<name>``.
    """


    async def serve(self, runtime: Runtime) -> None:
        """Serve until cancelled."""
        ...
