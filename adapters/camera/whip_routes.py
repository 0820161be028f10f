"""Litestar routes for WHIP ingest (RFC 9725), to mount in the HTTP API.

``whip_router(lookup)`` gives a Router at ``/whip``:

- ``POST /whip/{camera_id}`` with ``Content-Type: application/sdp`` and
  ``Authorization: Bearer <token>`` → 201, the answer SDP, ``Location`` of the session;
  415 for another content type, 401 for a wrong token, 400 for a bad offer, 404 for an
  unknown camera;
- ``DELETE /whip/{camera_id}/{resource_id}`` → 200 (ends the session);
- anything else (PATCH for trickle ICE, which aiortc does not do) → 405.

The routes only translate HTTP to :class:`adapters.camera.whip.WhipEndpoint` calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Request, Response, Router, delete, post
from litestar.enums import MediaType
from litestar.params import FromPath

from adapters.camera import whip

SDP = "application/sdp"

Lookup = Callable[[str], whip.WhipEndpoint | None]


def _bearer(request: Request[Any, Any, Any]) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def _error(error: whip.WhipError) -> Response[str]:
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else {}
    return Response(
        str(error), status_code=error.status, media_type=MediaType.TEXT, headers=headers
    )


def whip_router(lookup: Lookup = whip.lookup, path: str = "/whip") -> Router:
    """A Router serving WHIP for the endpoints ``lookup`` finds by camera id."""

    @post("/{camera_id:str}", status_code=201)
    async def publish(camera_id: FromPath[str], request: Request[Any, Any, Any]) -> Response[str]:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != SDP:
            return Response(
                f"WHIP offers must be {SDP}", status_code=415, media_type=MediaType.TEXT
            )
        endpoint = lookup(camera_id)
        if endpoint is None:
            return _error(whip.WhipNotFound(f"no WHIP camera {camera_id!r}"))
        body = await request.body()
        try:
            answer = await endpoint.offer(body.decode("utf-8", errors="replace"), _bearer(request))
        except whip.WhipError as exc:
            return _error(exc)
        location = f"{request.url.path.rstrip('/')}/{answer.resource_id}"
        return Response(
            answer.sdp,
            status_code=201,
            media_type=SDP,
            headers={"Location": location, "ETag": f'"{answer.resource_id}"'},
        )

    @delete("/{camera_id:str}/{resource_id:str}", status_code=200)
    async def unpublish(
        camera_id: FromPath[str], resource_id: FromPath[str], request: Request[Any, Any, Any]
    ) -> Response[str]:
        endpoint = lookup(camera_id)
        if endpoint is None:
            return _error(whip.WhipNotFound(f"no WHIP camera {camera_id!r}"))
        try:
            await endpoint.delete(resource_id, _bearer(request))
        except whip.WhipError as exc:
            return _error(exc)
        return Response("", status_code=200, media_type=MediaType.TEXT)

    return Router(path=path, route_handlers=[publish, unpublish])
