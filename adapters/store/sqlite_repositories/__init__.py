"""The repositories of :class:`adapters.store.sqlite.SqliteTx`, one module per aggregate, each
implementing one Protocol of :mod:`kernel.protocols.store` on the transaction's connection."""

from adapters.store.sqlite_repositories.accounts import SqliteAccounts
from adapters.store.sqlite_repositories.alerts import SqliteAlerts
from adapters.store.sqlite_repositories.audit import SqliteAudit
from adapters.store.sqlite_repositories.blobs import SqliteBlobs
from adapters.store.sqlite_repositories.deployments import SqliteDeployments
from adapters.store.sqlite_repositories.devices import SqliteDevices
from adapters.store.sqlite_repositories.disposals import SqliteDisposals
from adapters.store.sqlite_repositories.outbox import SqliteOutbox
from adapters.store.sqlite_repositories.push import SqlitePushSubscriptions
from adapters.store.sqlite_repositories.sessions import SqliteSessions
from adapters.store.sqlite_repositories.statistics import SqliteStatistics
from adapters.store.sqlite_repositories.watchlists import SqliteWatchlists

__all__ = [
    "SqliteAccounts",
    "SqliteAlerts",
    "SqliteAudit",
    "SqliteBlobs",
    "SqliteDeployments",
    "SqliteDevices",
    "SqliteDisposals",
    "SqliteOutbox",
    "SqlitePushSubscriptions",
    "SqliteSessions",
    "SqliteStatistics",
    "SqliteWatchlists",
]
