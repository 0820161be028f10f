"""The store contract kit calls every method of every repository Protocol (issue 11): the
methods are read from ``StoreTx`` by introspection, and the kit is run on ``store.sqlite``
through a recording proxy. A repository method added without a kit test fails here."""

from __future__ import annotations

import logging
from pathlib import Path

from adapters.store.sqlite import SqliteStore
from kernel.clock import ManualClock
from kernel.executor import BoundedExecutor
from kernel.protocols.adapter import AdapterContext
from kernel.protocols.store import Store
from kernel.testing.store_contract import kit_tests, repository_methods, run_kit


def test_repository_methods_are_read_from_the_protocols() -> None:
    methods = repository_methods()
    assert {"alerts.insert", "outbox.pending", "sessions.delete_before", "push.put",
            "accounts.get_login_failures"} <= methods
    assert {m.split(".")[0] for m in methods} == {
        "deployments", "blobs", "watchlists", "alerts", "outbox", "audit", "disposals",
        "statistics", "accounts", "sessions", "push", "devices"}
    assert len(methods) == 74  # 72 + statistics.put_edge, statistics.edges (issue 13)


async def test_store_contract_calls_every_repository_method(tmp_path: Path) -> None:
    async def fresh(name: str) -> Store:
        context = AdapterContext(name="sqlite", data_dir=tmp_path / name,
                                 executor=BoundedExecutor(1, 1), clock=ManualClock(),
                                 log=logging.getLogger("test.sqlite"))
        store = SqliteStore(SqliteStore.Config(), context)
        await store.open()
        return store

    called = await run_kit(fresh)
    assert repository_methods() - called == set(), "repository methods no kit test calls"
    assert called <= repository_methods()
    assert len(kit_tests()) >= 20
