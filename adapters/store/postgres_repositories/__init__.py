"""The repositories of :class:`adapters.store.postgres.PostgresTx`, one module per aggregate,
each implementing one Protocol of :mod:`kernel.protocols.store` on the transaction's
connection. Rows become records through :mod:`adapters.store.rows`, shared with SQLite."""

from adapters.store.postgres_repositories.accounts import PostgresAccounts
from adapters.store.postgres_repositories.alerts import PostgresAlerts
from adapters.store.postgres_repositories.audit import PostgresAudit
from adapters.store.postgres_repositories.blobs import PostgresBlobs
from adapters.store.postgres_repositories.deployments import PostgresDeployments
from adapters.store.postgres_repositories.devices import PostgresDevices
from adapters.store.postgres_repositories.disposals import PostgresDisposals
from adapters.store.postgres_repositories.outbox import PostgresOutbox
from adapters.store.postgres_repositories.push import PostgresPushSubscriptions
from adapters.store.postgres_repositories.sessions import PostgresSessions
from adapters.store.postgres_repositories.statistics import PostgresStatistics
from adapters.store.postgres_repositories.watchlists import PostgresWatchlists

__all__ = [
    "PostgresAccounts",
    "PostgresAlerts",
    "PostgresAudit",
    "PostgresBlobs",
    "PostgresDeployments",
    "PostgresDevices",
    "PostgresDisposals",
    "PostgresOutbox",
    "PostgresPushSubscriptions",
    "PostgresSessions",
    "PostgresStatistics",
    "PostgresWatchlists",
]
