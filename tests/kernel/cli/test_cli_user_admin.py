"""Issue 15: ``pinchpoint user`` makes the same domain calls as the admin screens: the last
enabled admin cannot be disabled (exit 5, nothing changed); ``end-sessions`` logs a user out
everywhere and is audited as ``user.end_sessions``, the API's action name. Issue 14:
``disable`` deletes the user's MQTT logins from the real broker too."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import aiomqtt
import pytest

from adapters.store.sqlite import SqliteStore
from kernel.auth.accounts import Accounts
from kernel.auth.passwords import Passwords
from kernel.clock import SystemClock
from kernel.delivery.broker_accounts import BrokerCredentials
from kernel.domain.records import AuditRecord
from kernel.executor import BoundedExecutor
from kernel.protocols.adapter import AdapterContext
from mobile_api.mosquitto_accounts import MosquittoDynsecAccounts
from mobile_api.settings import DynsecSettings
from tests.cli_inprocess import Completed, pinchpoint
from tests.mosquitto_dynsec import ADMIN_PASSWORD, ADMIN_USER, DynsecBroker, started_broker

PASSWORD = "correct horse battery staple"


def _cli(config: Path, *args: str, stdin: str = "") -> Completed:
    """``pinchpoint user ARGS…`` in this process (tests/cli_inprocess.py says why)."""
    return pinchpoint(["user", *args, "--config", str(config)], config.parent, stdin)


async def _sessions_and_audit(data_dir: Path, make: bool) -> tuple[int, list[AuditRecord]]:
    ctx = AdapterContext(name="sqlite", data_dir=data_dir, executor=BoundedExecutor(1, 1),
                         clock=SystemClock(), log=logging.getLogger("test.store"))
    store = SqliteStore(SqliteStore.Config(), ctx)
    await store.open()
    try:
        accounts = Accounts(store, SystemClock(), Passwords(time_cost=1, memory_kib=8))
        if make:
            for _ in range(2):
                await accounts.create_session("pc.lost")
        session = await accounts.create_session("pc.lost")
        alive = await accounts.resolve(session.token) is not None
        async with store.transaction() as tx:
            rows = await tx.audit.page(0, 10_000)
        return int(alive), rows
    finally:
        await store.close()


def test_issue15_cli_refuses_to_disable_the_last_admin_and_ends_sessions(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('data_dir = "var"\n[store]\ntype = "sqlite"\n')
    for name, role in (("root", "admin"), ("pc.lost", "officer")):
        made = _cli(config, "add", name, "--role", role, "--password-stdin", stdin=PASSWORD)
        assert made.returncode == 0, made.stderr
    refused = _cli(config, "disable", "root")
    assert refused.returncode == 5 and "last enabled admin" in refused.stderr, refused
    listed = _cli(config, "list")
    assert "root\tadmin\tenabled" in listed.stdout
    asyncio.run(_sessions_and_audit(tmp_path / "var", make=True))
    ended = _cli(config, "end-sessions", "pc.lost")
    assert ended.returncode == 0, ended.stderr
    _, rows = asyncio.run(_sessions_and_audit(tmp_path / "var", make=False))
    [row] = [r for r in rows if r.action == "user.end_sessions"]
    assert row.subjects == {"user": "pc.lost"} and row.details == {"sessions_ended": 3}
    assert row.actor.startswith("cli:")
    assert not [r for r in rows if r.action == "user.disable"]
    unknown = _cli(config, "end-sessions", "nobody")
    assert unknown.returncode == 5 and "no user" in unknown.stderr


def test_issue14_cli_disable_deletes_the_users_mqtt_logins(
        tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """``pinchpoint user disable`` deletes the user's broker logins as the admin screen does:
    the real Mosquitto (dynamic security) refuses the login a session of theirs had, and the
    audit row says how many went."""
    broker_run = started_broker(tmp_path_factory)
    broker = next(broker_run)
    try:
        config = tmp_path / "c.toml"
        config.write_text(
            'data_dir = "var"\n[store]\ntype = "sqlite"\n[[services]]\ntype = "http"\n'
            f'mqtt = {{ws_url = "{broker.ws_url}", accounts = {{port = {broker.port}, '
            f'username = "{ADMIN_USER}", password = "{ADMIN_PASSWORD}"}}}}\n')
        made = _cli(config, "add", "pc.gone", "--role", "officer", "--password-stdin",
                    stdin=PASSWORD)
        assert made.returncode == 0, made.stderr
        login = asyncio.run(_broker_login(tmp_path / "var", broker))
        assert asyncio.run(_mqtt_accepts(broker, login))
        disabled = _cli(config, "disable", "pc.gone")
        assert disabled.returncode == 0, disabled.stderr
        assert not asyncio.run(_mqtt_accepts(broker, login))
        rows = asyncio.run(_audit(tmp_path / "var"))
        [row] = [r for r in rows if r.action == "user.disable"]
        assert row.subjects == {"user": "pc.gone"} and row.actor.startswith("cli:")
        assert row.details == {"sessions_ended": 1, "mqtt_deleted": 1, "mqtt_revoked": True}
    finally:
        broker_run.close()


async def _open(data_dir: Path) -> SqliteStore:
    ctx = AdapterContext(name="sqlite", data_dir=data_dir, executor=BoundedExecutor(1, 1),
                         clock=SystemClock(), log=logging.getLogger("test.store"))
    store = SqliteStore(SqliteStore.Config(), ctx)
    await store.open()
    return store


async def _audit(data_dir: Path) -> list[AuditRecord]:
    store = await _open(data_dir)
    try:
        async with store.transaction() as tx:
            return await tx.audit.page(0, 10_000)
    finally:
        await store.close()


async def _broker_login(data_dir: Path, broker: DynsecBroker) -> BrokerCredentials:
    """A session of ``pc.gone`` and its broker account, as POST /api/mqtt/credentials makes."""
    store = await _open(data_dir)
    try:
        accounts = Accounts(store, SystemClock(), Passwords(time_cost=1, memory_kib=8))
        session = await accounts.create_session("pc.gone")
    finally:
        await store.close()
    dynsec = MosquittoDynsecAccounts(
        DynsecSettings(port=broker.port, username=ADMIN_USER, password=ADMIN_PASSWORD),
        ADMIN_PASSWORD, "pinchpoint/{deployment_id}/alerts")
    return await dynsec.grant(session.id, "dep-1")


async def _mqtt_accepts(broker: DynsecBroker, login: BrokerCredentials) -> bool:
    try:
        async with aiomqtt.Client("127.0.0.1", broker.port, username=login.username,
                                  password=login.password, identifier=login.client_id,
                                  timeout=10):
            return True
    except aiomqtt.MqttCodeError as exc:
        assert exc.rc in (4, 5, 134, 135), exc
        return False
