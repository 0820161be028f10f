"""``service.http``: the API served by uvicorn inside ``pinchpoint run`` (one process).

Config (``[[services]]`` with ``type = "http"``; keys of :class:`ApiSettings`): ``host``,
``port``, ``tls_cert``, ``tls_key`` default to ``[server]``. With a certificate and key the
API is served over HTTPS only (R23). The service uses ``runtime.governance``,
``runtime.events`` and ``runtime.engine`` when the runtime has them, and otherwise opens its
own governance on the configured store and builds the ``[engine]`` on the first enrolment.
Cancelling ``serve`` stops uvicorn at once (open SSE streams are cut).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

import uvicorn

from kernel.domain.governance import Governance, open_governance
from kernel.protocols.adapter import AdapterContext
from kernel.protocols.engine import FaceEngine
from mobile_api.app import create_app
from mobile_api.backend import make_backend
from mobile_api.settings import ApiSettings

if TYPE_CHECKING:
    from kernel.runtime import Runtime

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

    async def serve(self, runtime: Runtime) -> None:
        """Serve until cancelled."""
        server_cfg = runtime.config.server
        cfg = self.config
        host = cfg.host or server_cfg.host
        port = cfg.port if cfg.port is not None else server_cfg.port
        cert = cfg.tls_cert or server_cfg.tls_cert
        key = cfg.tls_key or server_cfg.tls_key
        if bool(cert) != bool(key):
            raise ValueError("TLS needs both tls_cert and tls_key")
        own: Governance | None = None
        governance: Governance | None = getattr(runtime, "governance", None)
        if governance is None:
            governance = own = await open_governance(runtime.config, runtime.clock,
                                                     executor=runtime.executor)
        engine_box: dict[str, Any] = {"engine": getattr(runtime, "engine", None)}
        engine_lock = asyncio.Lock()

        async def engine() -> FaceEngine:
            async with engine_lock:
                if engine_box["engine"] is None:
                    if runtime.config.engine is None:
                        raise LookupError("no [engine] configured")
                    engine_box["engine"] = runtime.build(runtime.config.engine)
                built: FaceEngine = engine_box["engine"]
                return built

        backend = await make_backend(governance, cfg, runtime.config.data_dir,
                                     events=getattr(runtime, "events", None), engine=engine,
                                     health=runtime.health)
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
            if own is not None:
                await own.close()
            built = engine_box["engine"]
            if built is not None and getattr(runtime, "engine", None) is None:
                with contextlib.suppress(Exception):
                    await built.close()
