"""One object bundling the governed core's services, for the pipeline, the API and the CLI."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from kernel import registry
from kernel.clock import Clock, SystemClock
from kernel.config import Config
from kernel.domain import audit
from kernel.domain.alerts import Alerts
from kernel.domain.context import DomainContext
from kernel.domain.crypto import KeyRing
from kernel.domain.deployments import Deployments
from kernel.domain.episodes import EpisodeSettings
from kernel.domain.force_view import ForceView
from kernel.domain.outbox import Outbox
from kernel.domain.push import PushSubscriptions
from kernel.domain.receipts import Receipts
from kernel.domain.reports import Reports
from kernel.domain.retention import Retention
from kernel.domain.watchlists import WatchLists
from kernel.executor import BoundedExecutor
from kernel.protocols.adapter import AdapterContext
from kernel.protocols.store import Store
from kernel.store_health import StoreFaults


class Governance:
    """The services over one store: ``deployments``, ``watchlists``, ``alerts``, ``outbox``,
    ``retention``, ``reports``, ``push``, ``receipts``, ``force`` (the force-wide view);
    ``events``, what they committed; plus
    :meth:`verify_audit` and :meth:`log_action`."""

    def __init__(self, store: Store, keys: KeyRing, clock: Clock,
                 executor: BoundedExecutor | None = None,
                 episodes: EpisodeSettings | None = None, console: str | None = None
                 ) -> None:
        """``executor``: where the domain's image work runs (default: a pool of its own,
        one thread); ``episodes``: how sightings join episodes (``[matching.episodes]``);
        ``console``: this process's ``[node] id`` when it is a console (the deployments it
        creates are stamped with it, issue 13)."""
        self.ctx = (DomainContext(store=store, keys=keys, clock=clock, console=console)
                    if executor is None else
                    DomainContext(store=store, keys=keys, clock=clock, executor=executor,
                                  console=console))
        self.store = store
        reported = getattr(store, "faults", None)
        self.faults = reported if isinstance(reported, StoreFaults) else StoreFaults(clock)
        """The store's storage fault while it lasts (a store that reports none: never)."""
        self.events = self.ctx.events
        """The post-commit events of these services (:mod:`kernel.domain.events`)."""
        self.deployments = Deployments(self.ctx)
        self.watchlists = WatchLists(self.ctx)
        self.outbox = Outbox(self.ctx)
        self.alerts = Alerts(self.ctx, episodes)
        self.retention = Retention(self.ctx, self.deployments)
        self.reports = Reports(self.ctx, self.alerts, self.watchlists)
        self.push = PushSubscriptions(self.ctx)
        self.receipts = Receipts(self.ctx)
        self.force = ForceView(self.ctx)

    async def verify_audit(self, anchor: audit.Anchor | None = None) -> audit.AuditReport:
        """Check the whole audit chain (R19); with ``anchor``, that its row is still there."""
        return await audit.verify(self.store, anchor=anchor)

    async def log_action(self, actor: str, action: str,
                         subjects: Mapping[str, str] | None = None,
                         details: Mapping[str, object] | None = None) -> None:
        """Audit an action taken elsewhere (login, logout, a view): no personal data (R19)."""
        async with self.store.transaction() as tx:
            await audit.append(tx, self.ctx.clock, actor, action, subjects, details)

    async def close(self) -> None:
        await self.store.close()


async def open_governance(config: Config, clock: Clock | None = None,
                          environ: Mapping[str, str] | None = None,
                          executor: BoundedExecutor | None = None) -> Governance:
    """Open the store named in ``[store]`` (default ``sqlite``) and the key ring of
    ``config.data_dir``; ``executor`` (the runtime's bounded pool) serves the store and the
    domain's image work. Under ``[node] role = "console"`` the deployments created through it
    (the API's, the CLI's) are stamped with ``[node] id``. Raises
    :class:`kernel.errors.StoreError` on a bad database."""
    clock = clock or SystemClock()
    data_dir = Path(config.data_dir)
    if config.store is not None:
        cls = registry.load("store", config.store.type)
        settings = config.store.settings
        name = config.store.name
    else:
        cls = registry.load("store", "sqlite")
        settings = cls.Config()
        name = "sqlite"
    executor = executor or BoundedExecutor(1, 1)
    context = AdapterContext(name=name, data_dir=data_dir, executor=executor,
                             clock=clock, log=logging.getLogger(f"pinchpoint.store.{name}"))
    store: Store = cls(settings, context)
    await store.open()
    keys = KeyRing(data_dir, environ)
    await keys.open()
    node = config.node
    return Governance(store, keys, clock, executor, config.matching.episodes,
                      console=node.id if node.role == "console" else None)
