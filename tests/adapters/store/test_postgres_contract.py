"""The store contract kit on ``store.postgres`` against the real server (issue 13, done-when
1): every kit test, on an empty schema of its own, and the kit reaching every repository
method."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.store.postgres import PostgresStore
from kernel.protocols.store import Store
from kernel.testing.store_contract import StoreContract, repository_methods, run_kit
from tests import postgres_server as pg


class TestPostgresContract(StoreContract):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[PostgresStore]:
        async with pg.fresh_schema() as schema:
            s = pg.store(pg.config(schema), tmp_path)
            await s.open()
            yield s
            await s.close()


async def test_issue13_contract_kit_calls_every_method_on_postgres(tmp_path: Path) -> None:
    schemas: list[str] = []

    async def fresh(name: str) -> Store:
        schema = f"{base}_{len(schemas)}"
        schemas.append(schema)
        s = pg.store(pg.config(schema), tmp_path)
        await s.open()
        return s

    async with pg.fresh_schema() as base:
        try:
            called = await run_kit(fresh)
        finally:
            con = await pg.admin()
            try:
                for schema in schemas:
                    await con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            finally:
                await con.close()
    assert repository_methods() - called == set()
