"""What the routes work with: the governed core, accounts, the live-feed bus and the few
parts of the running process the API shows (camera health, the face engine for enrolment)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from kernel.auth.accounts import Accounts
from kernel.auth.devices import Devices
from kernel.auth.lockout import LockoutPolicy
from kernel.auth.passwords import PasswordPool, Passwords
from kernel.clock import Clock
from kernel.config import MatchingConfig, NodeConfig
from kernel.delivery import vapid
from kernel.delivery.broker_accounts import BrokerAccounts
from kernel.delivery.dispatcher import SinkProgress
from kernel.delivery.signed_urls import load_or_create_secret
from kernel.domain.governance import Governance
from kernel.events import EventBus
from kernel.health import CameraHealth, SystemHealth, system_health
from kernel.link.list_publisher import EdgeView
from kernel.pipeline.placement import PlacementWatch
from kernel.protocols.engine import FaceEngine
from mobile_api.login_tarpit import LoginTarpit
from mobile_api.mosquitto_accounts import MosquittoDynsecAccounts
from mobile_api.settings import ApiSettings, OfficerMqttSettings

EngineProvider = Callable[[], Awaitable[FaceEngine]]
HealthProvider = Callable[[], Sequence[CameraHealth]]
SinksProvider = Callable[[], Sequence[SinkProgress]]
EdgesProvider = Callable[[], Sequence[EdgeView]]
StatusProvider = Callable[[], SystemHealth]


class EngineUnavailable(Exception):
    """No face engine is configured, so photos cannot be enrolled."""


async def _no_engine() -> FaceEngine:
    raise EngineUnavailable("no face engine is configured ([engine] in config.toml); "
                            "watch-list photos cannot be enrolled")


@dataclass
class ApiBackend:
    """Everything a request handler may touch. Build it with :func:`make_backend`."""

    governance: Governance
    accounts: Accounts
    events: EventBus
    settings: ApiSettings
    url_secret: bytes
    vapid_public_key: str | None = None
    engine: EngineProvider = _no_engine
    health: HealthProvider = field(default=lambda: [])
    sinks: SinksProvider = field(default=lambda: [])
    edges: EdgesProvider = field(default=lambda: [])
    """On a console: the edges' reports (docs/scale-out.md); empty otherwise."""
    default_threshold: float = MatchingConfig().decision_threshold(None)
    """What a deployment that sets no threshold of its own is decided at (``[matching]``):
    the published record states it (R20, R22)."""
    status_provider: StatusProvider | None = None
    broker_accounts: BrokerAccounts | None = None
    """Officers' MQTT accounts (``settings.mqtt``); ``None``: the PWA uses the live feed."""
    tarpit: LoginTarpit = field(default_factory=LoginTarpit)
    """Refused logins are answered late (:mod:`mobile_api.login_tarpit`)."""
    placement: PlacementWatch | None = None
    late_after_s: float = NodeConfig().late_after_s
    """``[node] late_after_s``: an alert stored longer than this after capture is marked late."""
    """The cameras' placement views; ``None`` without a pipeline (the route answers 503)."""
    devices: Devices = field(init=False)
    """Officers' enrolled devices (:mod:`kernel.auth.devices`), revoking their broker
    accounts in :attr:`broker_accounts`."""

    def __post_init__(self) -> None:
        self.devices = Devices(self.governance.store, self.governance.ctx.clock,
                               self.broker_accounts)

    @property
    def clock(self) -> Clock:
        return self.governance.ctx.clock

    def status(self) -> SystemHealth:
        """The running process's health; without a runtime, the store's fault alone."""
        if self.status_provider is not None:
            return self.status_provider()
        return system_health(self.governance.faults.current, None)


def accounts_for(governance: Governance, settings: ApiSettings) -> Accounts:
    """The :class:`Accounts` of a store with the settings' cost, password pool, expiry and
    throttling (its own Argon2id pool: never the face engine's executor)."""

    def policy(after: int) -> LockoutPolicy:
        return LockoutPolicy(after=after, base=settings.lockout_base_s,
                             maximum=settings.lockout_max_s)

    return Accounts(
        governance.store, governance.ctx.clock,
        Passwords(settings.argon2_time_cost, settings.argon2_memory_kib,
                  settings.argon2_parallelism,
                  pool=PasswordPool(settings.password_workers, settings.password_queue,
                                    settings.password_reserved)),
        idle=timedelta(seconds=settings.session_idle_s),
        absolute=timedelta(seconds=settings.session_absolute_s),
        lockout=policy(settings.lockout_after),
        client_lockout=policy(settings.lockout_client_after),
        account_lockout=policy(settings.lockout_account_after))


async def make_backend(governance: Governance, settings: ApiSettings, data_dir: Path,
                       *, events: EventBus | None = None,
                       engine: EngineProvider | None = None,
                       health: HealthProvider | None = None,
                       status: StatusProvider | None = None,
                       sinks: SinksProvider | None = None,
                       edges: EdgesProvider | None = None,
                       vapid_keys_dir: Path | None = None,
                       default_threshold: float | None = None,
                       placement: PlacementWatch | None = None,
                       late_after_s: float | None = None) -> ApiBackend:
    """Assemble the backend; reads (or creates) the URL-signing secret under ``data_dir``, and
    reads the Web Push public key the sink wrote in ``vapid_keys_dir`` (default
    ``<data_dir>/keys``)."""
    secret = await asyncio.to_thread(load_or_create_secret, vapid.keys_dir(data_dir))
    bus = events or EventBus(settings.feed_buffer, settings.feed_queue)
    public_key = settings.vapid_public_key or await asyncio.to_thread(
        vapid.read_public, vapid_keys_dir or vapid.keys_dir(data_dir))
    return ApiBackend(
        governance=governance, accounts=accounts_for(governance, settings), events=bus,
        settings=settings,
        url_secret=secret, vapid_public_key=public_key, engine=engine or _no_engine,
        health=health or (lambda: []), sinks=sinks or (lambda: []),
        edges=edges or (lambda: []),
        default_threshold=(MatchingConfig().decision_threshold(None)
                           if default_threshold is None else default_threshold),
        status_provider=status, placement=placement,
        late_after_s=NodeConfig().late_after_s if late_after_s is None else late_after_s,
        broker_accounts=await broker_accounts_for(settings.mqtt, data_dir))


async def broker_accounts_for(mqtt: OfficerMqttSettings | None, data_dir: Path
                              ) -> BrokerAccounts | None:
    """The officers' broker accounts of ``service.http``'s ``mqtt`` settings (``None``: MQTT
    not set up); files are read off the event loop."""
    if mqtt is None:
        return None
    cfg = mqtt.accounts

    def under(name: str) -> Path:
        path = Path(name)
        return path if path.is_absolute() else data_dir / path

    def build() -> MosquittoDynsecAccounts:  # file reads: off the event loop
        password = under(cfg.password_file).read_text().strip() if cfg.password_file \
            else cfg.password
        if not password:
            raise ValueError("service.http mqtt.accounts needs password or password_file")
        return MosquittoDynsecAccounts(cfg, password, mqtt.topic,
                                       under(cfg.ca_file) if cfg.ca_file else None)

    return await asyncio.to_thread(build)
