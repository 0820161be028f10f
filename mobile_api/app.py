"""The Litestar application: routes, the access-matrix guard, errors, OpenAPI at /schema."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin, YamlRenderPlugin

from kernel import registry
from kernel.domain.governance import Governance
from kernel.events import EventBus
from mobile_api.backend import ApiBackend, accounts_for
from mobile_api.errors import HANDLERS as ERROR_HANDLERS
from mobile_api.live_feed import announce
from mobile_api.routes import (
    alerts,
    auth,
    deployments,
    devices,
    feed,
    force,
    health,
    mqtt,
    placement,
    push,
    pwa,
    receipts,
    reports,
    users,
    walkpasts,
    watchlists,
)
from mobile_api.routes import settings as settings_routes
from mobile_api.security import authorize
from mobile_api.security_headers import security_headers_hook
from mobile_api.settings import ApiSettings

ROUTE_MODULES = (auth, users, deployments, watchlists, walkpasts, alerts, reports, force,
                 settings_routes, health, placement, push, mqtt, devices, receipts, feed, pwa)


def _backend_from(governance: Governance, settings: ApiSettings) -> ApiBackend:
    bus = EventBus(settings.feed_buffer, settings.feed_queue)
    # no data dir known here: a random URL secret lives for this process only
    return ApiBackend(governance=governance, accounts=accounts_for(governance, settings),
                      events=bus, settings=settings, url_secret=secrets.token_bytes(32))


def create_app(source: ApiBackend | Governance, settings: ApiSettings | None = None,
               *, debug: bool = False) -> Litestar:
    """The API over ``source``: an :class:`ApiBackend` (see :func:`make_backend`, what the
    ``service.http`` adapter builds) or a bare :class:`Governance` (no cameras, no engine,
    a per-process URL secret: tests and embedding). While the app runs, the governed core's
    post-commit events feed the live feed (:mod:`mobile_api.live_feed`), other processes'
    commits included (followed every ``feed_poll_s`` seconds)."""
    if isinstance(source, Governance):
        backend = _backend_from(source, settings or ApiSettings())
    else:
        backend = source
    settings = backend.settings

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        gov = backend.governance
        unsubscribe = gov.events.subscribe(lambda event: announce(backend.events, event))
        try:
            async with gov.events.follow(gov.store, settings.feed_poll_s):
                yield
        finally:
            unsubscribe()

    handlers: list[object] = [h for m in ROUTE_MODULES for h in m.HANDLERS]
    # Adapters' own endpoints (WHIP ingest) come through the routes hook, never an import.
    at = len(handlers) - len(pwa.HANDLERS)
    handlers[at:at] = registry.http_routes()
    return Litestar(
        route_handlers=handlers,  # type: ignore[arg-type]
        guards=[authorize],
        exception_handlers=ERROR_HANDLERS,
        # every response, errors and static files included (mobile_api.security_headers)
        # the officers' app may also connect to the MQTT broker (settings.mqtt.ws_url)
        before_send=[security_headers_hook(
            (settings.mqtt.ws_origin,) if settings.mqtt is not None else ())],
        request_max_body_size=settings.max_upload_bytes,
        state=_state(backend),
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(
            title="Pinchpoint API", version="1",
            description="Mobile alert API of Pinchpoint (see docs/requirements.md R4-R24). "
                        "Log in at /api/auth/login; send X-CSRF-Token on state changes.",
            path="/schema",
            render_plugins=[JsonRenderPlugin(), YamlRenderPlugin(), SwaggerRenderPlugin()]),
        debug=debug,
        # The process's logging (human or JSON lines, with the biometric guard) is the
        # kernel's; Litestar must not install its own handlers over it.
        logging_config=None,
    )


def _state(backend: ApiBackend) -> State:
    return State({"backend": backend, "pwa_dir": Path(backend.settings.pwa_dir)})
