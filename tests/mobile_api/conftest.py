"""A real API server for the tests: uvicorn on 127.0.0.1 (a free port) in a thread with its own
event loop, over a real SQLite store, key ring and ONNX engine in a temp data dir, with a
manual clock. ``LiveApi.call`` runs a coroutine on the server's loop (seeding, checks)."""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn

from adapters.engine.onnx import OnnxEngine
from adapters.store.sqlite import SqliteStore
from kernel.clock import ManualClock
from kernel.domain.crypto import KeyRing
from kernel.domain.deployments import DeploymentDraft
from kernel.domain.governance import Governance
from kernel.domain.watchlists import EntryInput
from kernel.executor import BoundedExecutor
from kernel.protocols.adapter import AdapterContext
from kernel.protocols.engine import FaceEngine
from mobile_api.app import create_app
from mobile_api.backend import ApiBackend, make_backend
from mobile_api.login_tarpit import LoginTarpit
from mobile_api.roles import ROLES
from mobile_api.security import COOKIE
from mobile_api.service import _Server
from mobile_api.settings import ApiSettings

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[2]
FACES = REPO / "demo" / "faces"
PASSWORD = "correct horse battery staple"

TEST_SETTINGS = ApiSettings(
    argon2_time_cost=1, argon2_memory_kib=8, argon2_parallelism=1,  # fast hashing in tests
    lockout_after=3, lockout_base_s=30, lockout_max_s=300, session_idle_s=600,
    session_absolute_s=3600, feed_poll_s=0.2, feed_ping_s=0.5, max_upload_bytes=2_000_000,
    feed_buffer=5, secure_cookie=True)


@dataclass
class Seed:
    deployment: str = ""
    entry: str = ""
    blue_entry: str = ""
    confirmed: str = ""
    rejected: str = ""
    candidate: str = ""
    test_event: str = ""
    face: bytes = b""
    torso: bytes = b""
    extra: dict[str, str] = field(default_factory=dict)


class LiveApi:
    """The app served for real; ``url``, ``backend``, ``gov``, ``clock``, ``seed``."""

    def __init__(self, data_dir: Path, settings: ApiSettings = TEST_SETTINGS,
                 tls: tuple[Path, Path, Path] | None = None) -> None:
        """``tls``: (server certificate, key, CA certificate): serve HTTPS instead."""
        self.clock = ManualClock(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.data_dir = data_dir
        self.gov, self.engine = self.call(self._open(data_dir))
        self.backend: ApiBackend = self.call(self._backend(settings))
        # API tests count answers, not their pace: refusals answered at once (a full tarpit).
        # The tarpit's own tests and the login-flood test run with the real one.
        self.backend.tarpit = LoginTarpit(max_held=0)
        self.app = create_app(self.backend)
        cert: str | None = None
        key: str | None = None
        self.verify: ssl.SSLContext | bool = True
        if tls is not None:
            cert, key = str(tls[0]), str(tls[1])
            self.verify = ssl.create_default_context(cafile=str(tls[2]))
        config = uvicorn.Config(self.app, host="127.0.0.1", port=0, lifespan="on",
                                log_level="warning", access_log=False,
                                timeout_graceful_shutdown=1, ssl_certfile=cert,
                                ssl_keyfile=key)
        self.server = _Server(config)
        self.serving = asyncio.run_coroutine_threadsafe(self.server.serve(), self.loop)
        deadline = time.monotonic() + 20
        while not self.server.started:
            if self.serving.done() or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {self.serving}")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"{'http' if tls is None else 'https'}://127.0.0.1:{port}"
        self.seed = Seed()

    async def _open(self, data_dir: Path) -> tuple[Governance, FaceEngine]:
        # Joined in close(): a pinchpoint-cpu thread left behind fails the runtime's
        # no-thread-left test when a suite that uses LiveApi runs before tests/kernel
        # (tests/faults does).
        self.executors = (BoundedExecutor(1, 2), BoundedExecutor(1, 2))
        ctx = AdapterContext(name="sqlite", data_dir=data_dir,
                             executor=self.executors[0], clock=self.clock,
                             log=logging.getLogger("test.store"))
        store = SqliteStore(SqliteStore.Config(), ctx)
        await store.open()
        keys = KeyRing(data_dir, environ={})
        await keys.open()
        engine = OnnxEngine(OnnxEngine.Config(models_dir=str(REPO / "var" / "models")),
                            AdapterContext(name="onnx", data_dir=data_dir,
                                           executor=self.executors[1], clock=self.clock,
                                           log=logging.getLogger("test.engine")))
        return Governance(store, keys, self.clock), engine

    async def _backend(self, settings: ApiSettings) -> ApiBackend:
        async def engine() -> FaceEngine:
            return self.engine

        return await make_backend(self.gov, settings, self.data_dir, engine=engine)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def client(self, role: str | None = None, csrf: bool = True) -> httpx.Client:
        """A client logged in as the user named like ``role`` (a fresh session), or
        anonymous; with the session's CSRF header unless ``csrf`` is False."""
        headers: dict[str, str] = {}
        if role is not None:
            s = self.call(self.backend.accounts.create_session(role))
            headers["Cookie"] = f"{COOKIE}={s.token}"
            if csrf:
                headers["X-CSRF-Token"] = s.csrf
        return httpx.Client(base_url=self.url, headers=headers, timeout=10, verify=self.verify)

    def close(self) -> None:
        self.server.should_exit = True
        try:
            self.serving.result(10)
        finally:
            self.call(self.engine.close())
            self.call(self.gov.close())
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
            for executor in self.executors:
                executor.shutdown()


async def seed(api: LiveApi) -> Seed:
    """Users of every role; a live deployment with a watch entry (obama), a blue entry
    (biden); a confirmed, a rejected and an open candidate, and a blue test event."""
    gov, clock, s = api.gov, api.clock, api.seed
    for role in ROLES:
        await api.backend.accounts.add_user(role, role, PASSWORD, "test")
    now = clock.now()
    dep = await gov.deployments.create(DeploymentDraft(
        name="Test", authorising_officer="Supt A", location="Gate", starts_at=now - timedelta(
            hours=1), ends_at=now + timedelta(hours=8), objectives="test",
        case_reference="CR-1", command_team=["commander"]), "commander")
    s.deployment = dep.id
    photo = (FACES / "obama.jpg").read_bytes()
    r = await gov.watchlists.enrol(dep.id, api.engine, photo, actor="commander",
                                   entry=EntryInput(reference="REF-1", category="wanted",
                                                    source="PNC", reason="warrant"))
    assert r.ok and r.entry_id, r
    s.entry = r.entry_id
    b = await gov.watchlists.enrol(dep.id, api.engine, (FACES / "biden.jpg").read_bytes(),
                                   actor="technical",
                                   entry=EntryInput(reference="STAFF-1", category="blue",
                                                    source="staff", reason="volunteer",
                                                    list="blue"))
    assert b.ok and b.entry_id, b
    s.blue_entry = b.entry_id
    await gov.watchlists.review(dep.id, "commander")
    await gov.deployments.authorise(dep.id, "commander")
    await gov.deployments.go_live(dep.id, "commander")
    s.face, s.torso = (FACES / "obama2.jpg").read_bytes(), (FACES / "obama3.jpg").read_bytes()
    ids = []
    for i in range(3):
        # captured hours apart and before now: three people's alerts, not one episode's
        # sightings (issue 15), and none a later candidate at now would join
        a = await gov.alerts.create_candidate(dep.id, s.entry, "gate-1", 0.91,
                                              clock.now() - timedelta(minutes=50 - 20 * i),
                                              s.face, s.torso)
        ids.append(a.id)
    s.confirmed, s.rejected, s.candidate = ids
    await gov.alerts.confirm(s.confirmed, "operator")
    await gov.alerts.reject(s.rejected, "operator")
    t = await gov.alerts.create_candidate(dep.id, s.blue_entry, "gate-1", 0.88, clock.now(),
                                          s.face, s.torso)
    s.test_event = t.id
    return s


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    if not (REPO / "var" / "models" / "models.json").is_file():
        pytest.skip("models not built: run `pinchpoint models build` (var/models)")
    api = LiveApi(tmp_path_factory.mktemp("api"))
    try:
        api.call(seed(api))
        yield api
    finally:
        api.close()
