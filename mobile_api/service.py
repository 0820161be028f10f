"""``service.http``: the API served by uvicorn inside ``pinchpoint run`` (one process).

Config (``[[services]]`` with ``type = "http"``; keys of :class:`ApiSettings`): ``host``,
``port``, ``tls_cert``, ``tls_key`` default to ``[server]``. With a certificate and key the
API is served over HTTPS only (R23). The service uses what its
:class:`~kernel.protocols.service.ServiceContext` gives: the governed core, the live feed's
events, the face engine (the runtime builds one on the first enrolment when it runs no
pipeline) and the cameras' health. Cancelling ``serve`` stops uvicorn at once (open SSE
streams are cut).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import uvicorn

from kernel.delivery import vapid
from kernel.delivery.broker_accounts import BrokerAccounts
from kernel.protocols.adapter import AdapterContext
from kernel.protocols.service import ServiceContext
from mobile_api.app import create_app
from mobile_api.backend import broker_accounts_for, make_backend
from mobile_api.settings import ApiSettings

log = logging.getLogger("pinchpoint.service.http")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the runtime owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpService:
    """The ``service.http`` adapter."""

    Config: ClassVar[type[ApiSettings]] = ApiSettings

    def __init__(self, config: ApiSettings, context: AdapterContext) -> None:
        self.config = config
        self.context = context
        self.server: uvicorn.Server | None = None

    @staticmethod
    async def broker_accounts(settings: ApiSettings, data_dir: Path) -> BrokerAccounts | None:
        """The officers' broker accounts these settings name, for a process that does not
        serve (``pinchpoint user disable`` deletes a disabled user's:
        :func:`kernel.cli.users.broker_accounts_of`)."""
        return await broker_accounts_for(settings.mqtt, data_dir)

    async def serve(self, context: ServiceContext) -> None:
        """Serve until cancelled."""
        server_cfg = context.config.server
        cfg = self.config
        host = cfg.host or server_cfg.host
        port = cfg.port if cfg.port is not None else server_cfg.port
        cert = cfg.tls_cert or server_cfg.tls_cert
        key = cfg.tls_key or server_cfg.tls_key
        if bool(cert) != bool(key):
            raise ValueError("TLS needs both tls_cert and tls_key")
        governance = await context.governance()
        data_dir = context.config.data_dir
        # The Web Push sink's key directory, if one is configured: it wrote the public key.
        push_dirs = [vapid.keys_dir(data_dir, getattr(s.settings, "keys_dir", None))
                     for s in context.config.sinks if s.type == "webpush"]
        backend = await make_backend(governance, cfg, data_dir,
                                     events=context.events, engine=context.engine,
                                     health=context.health, status=context.status,
                                     sinks=context.sinks, edges=context.edges,
                                     vapid_keys_dir=push_dirs[0] if push_dirs else None,
                                     default_threshold=context.config.matching
                                     .decision_threshold(None),
                                     placement=context.placement,
                                     late_after_s=context.config.node.late_after_s)
        app = create_app(backend)
        config = uvicorn.Config(app, host=host, port=port, ssl_certfile=cert, ssl_keyfile=key,
                                log_level="warning", lifespan="on", access_log=False,
                                timeout_graceful_shutdown=1,
                                proxy_headers=False, server_header=False)
        server = self.server = _Server(config)
        log.info("API on %s://%s:%d", "https" if cert else "http", host, port)
        serving = asyncio.create_task(server.serve(), name="uvicorn")
        try:
            await asyncio.shield(serving)
        finally:
            if not serving.done():
                # cancelled: stop; open SSE streams are cut after timeout_graceful_shutdown
                server.should_exit = True
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.wait_for(serving, 5.0)
