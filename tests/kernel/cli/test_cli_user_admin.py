"""Issue 15: ``pinchpoint user`` makes the same domain calls as the admin screens: the last
enabled admin cannot be disabled (exit 5, nothing changed); ``end-sessions`` logs a user out
everywhere and is audited as ``user.end_sessions``, the API's action name."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from adapters.store.sqlite import SqliteStore
from kernel.auth.accounts import Accounts
from kernel.auth.passwords import Passwords
from kernel.clock import SystemClock
from kernel.domain.records import AuditRecord
from kernel.executor import BoundedExecutor
from kernel.protocols.adapter import AdapterContext
from tests.cli_inprocess import Completed, pinchpoint

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
