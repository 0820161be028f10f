"""WHIP ingest (RFC 9725), framework-free: what an HTTP layer forwards to, and where it finds it.

The HTTP layer (see :mod:`adapters.camera.whip_routes`) only translates:

- ``POST`` an ``application/sdp`` offer → ``await endpoint.offer(sdp, token)`` → 201 with the
  answer SDP and ``Location: …/{resource_id}``;
- ``DELETE …/{resource_id}`` → ``await endpoint.delete(resource_id, token)`` → 200;
- :class:`WhipUnauthorized` → 401, :class:`WhipBadOffer` → 400, :class:`WhipNotFound` → 404.

Endpoints are found by camera id in a process-wide registry: a WHIP camera adds itself when
built and removes itself when closed (:func:`register`, :func:`unregister`,
:func:`lookup`), so the API needs no reference to the pipeline.
"""

from __future__ import annotations

from typing import Protocol

import msgspec


class WhipAnswer(msgspec.Struct, frozen=True):
    """The server's SDP answer and the id of the session resource it created."""

    sdp: str
    resource_id: str


class WhipError(Exception):
    """Base of the errors a WHIP endpoint raises; ``status`` is the HTTP status to send."""

    status = 400


class WhipUnauthorized(WhipError):
    """Missing or wrong bearer token."""

    status = 401


class WhipBadOffer(WhipError):
    """The body is not a usable SDP offer (not SDP, no video, no common codec)."""

    status = 400


class WhipNotFound(WhipError):
    """No such camera, or no such session resource."""

    status = 404


class WhipEndpoint(Protocol):
    """One WHIP ingest point (one camera). Implemented by
    :class:`adapters.camera.webrtc.WebRtcCamera`."""

    async def offer(self, sdp: str, token: str | None) -> WhipAnswer:
        """Accept a publisher's SDP offer; replaces any current publisher."""
        ...

    async def delete(self, resource_id: str, token: str | None) -> None:
        """End the session ``resource_id``."""
        ...


_endpoints: dict[str, WhipEndpoint] = {}


def register(camera_id: str, endpoint: WhipEndpoint) -> None:
    """Make ``endpoint`` reachable as ``camera_id`` (a newer one replaces an older one, as a
    supervisor's rebuilt camera replaces the one that crashed)."""
    _endpoints[camera_id] = endpoint


def unregister(camera_id: str, endpoint: WhipEndpoint) -> None:
    """Forget ``camera_id`` if it still maps to ``endpoint`` (not to a replacement)."""
    if _endpoints.get(camera_id) is endpoint:
        del _endpoints[camera_id]


def lookup(camera_id: str) -> WhipEndpoint | None:
    """The endpoint registered as ``camera_id``, if any: the default for ``whip_router``."""
    return _endpoints.get(camera_id)
