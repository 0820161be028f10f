"""Login throttling that protects availability (issue 12, finding 1; R23, R19).

Five wrong passwords from any anonymous client locked the operator's account for everyone.
Now failures are counted per (client, name), per client and per account, and the account's
count locks only the clients that failed for it (:mod:`kernel.auth.lockout`); an admin
unlocks (API and ``pinchpoint user unlock``), audited; existing sessions are untouched.

Different clients are different loopback source addresses (127.0.0.2, 127.0.0.3, ...), so
the server sees real, distinct peers.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.store.sqlite import SqliteStore
from kernel.auth.accounts import Accounts
from kernel.auth.lockout import LockoutPolicy, client_key
from kernel.auth.passwords import Passwords
from kernel.clock import ManualClock
from kernel.config import load
from kernel.errors import ConfigError
from kernel.executor import BoundedExecutor
from kernel.protocols.adapter import AdapterContext
from tests.mobile_api.conftest import PASSWORD, LiveApi


def _from(api: LiveApi, address: str, **kwargs: Any) -> httpx.Client:
    """An anonymous client whose connections come from ``address`` (127.0.0.0/8)."""
    return httpx.Client(base_url=api.url, timeout=10, verify=api.verify,
                        transport=httpx.HTTPTransport(local_address=address), **kwargs)


def _login(client: httpx.Client, name: str, password: str) -> httpx.Response:
    return client.post("/api/auth/login", json={"name": name, "password": password})


async def _audit(api: LiveApi) -> list[Any]:
    async with api.gov.store.transaction() as tx:
        return list(await tx.audit.page(0, 100_000))


def test_r23_hostile_client_cannot_lock_the_operator_out(live_api: LiveApi) -> None:
    """R23, hostile: 20 wrong passwords for 'operator' from client A; then the right password
    from client B logs in, the operator's existing session is untouched, client A stays
    throttled (even with the right password), and the admin's unlock clears A's lock and is
    in the audit log (R19)."""
    with live_api.client("operator") as existing, _from(live_api, "127.0.0.2") as a, \
            _from(live_api, "127.0.0.3") as b:
        statuses = [_login(a, "operator", "wrong password!").status_code for _ in range(20)]
        assert statuses[:2] == [401, 401] and set(statuses[2:]) == {429}, statuses
        assert existing.get("/api/auth/me").status_code == 200  # sessions untouched
        right_from_a = _login(a, "operator", PASSWORD)
        assert right_from_a.status_code == 429 and int(right_from_a.headers["retry-after"]) > 0
        from_b = _login(b, "operator", PASSWORD)
        assert from_b.status_code == 200, from_b.text
        assert from_b.json()["user"] == "operator"
        assert _login(a, "operator", PASSWORD).status_code == 429  # A stays throttled
        assert existing.get("/api/auth/me").status_code == 200

        with live_api.client("admin") as admin:
            done = admin.post("/api/users/operator/unlock")
            assert done.status_code == 200, done.text
            assert done.json()["user"] == "operator"
            assert admin.post("/api/users/nobody-at-all/unlock").status_code == 400
        assert _login(a, "operator", PASSWORD).status_code == 200  # the unlock cleared A
        assert existing.get("/api/auth/me").status_code == 200
    rows = live_api.call(_audit(live_api))
    unlocks = [r for r in rows if r.action == "user.unlock"]
    assert unlocks and unlocks[-1].actor == "admin", unlocks
    assert dict(unlocks[-1].subjects or {}) == {"user": "operator"}
    failed = [r for r in rows if r.action in ("auth.login_failed", "auth.login_locked")
              and r.actor == "operator"]
    assert failed and all(dict(r.details or {}).get("client") == "127.0.0.2" for r in failed)


def test_r23_only_the_admin_may_unlock(live_api: LiveApi) -> None:
    """The unlock route is the admin's only (the role matrix test checks every role too)."""
    for role in ("officer", "operator", "technical", "commander"):
        with live_api.client(role) as c:
            assert c.post("/api/users/operator/unlock").status_code == 403, role
    with _from(live_api, "127.0.0.9") as anonymous:
        assert anonymous.post("/api/users/operator/unlock").status_code == 401


class _Rig:
    """Accounts over a real SQLite store with a manual clock, without HTTP."""

    def __init__(self, data_dir: Path, **policies: LockoutPolicy) -> None:
        self.clock = ManualClock(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
        self.data_dir = data_dir
        self.policies = policies

    async def __aenter__(self) -> Accounts:
        ctx = AdapterContext(name="sqlite", data_dir=self.data_dir,
                             executor=BoundedExecutor(1, 2), clock=self.clock,
                             log=logging.getLogger("test.store"))
        self.store = SqliteStore(SqliteStore.Config(), ctx)
        await self.store.open()
        accounts = Accounts(self.store, self.clock, Passwords(1, 8, 1),
                            lockout=LockoutPolicy(after=3, base=30, maximum=300),
                            **self.policies)  # type: ignore[arg-type]
        await accounts.add_user("operator", "operator", PASSWORD, "t")
        await accounts.add_user("officer", "officer", PASSWORD, "t")
        return accounts

    async def __aexit__(self, *_: object) -> None:
        await self.store.close()


def test_r23_one_client_spraying_names_is_throttled_for_every_name(tmp_path: Path) -> None:
    """A client trying many names (few tries each, under the per-name lock) is locked out of
    every name by its own count (``lockout_client_after``); other clients are not."""

    async def run() -> None:
        async with _Rig(tmp_path, client_lockout=LockoutPolicy(after=6, base=30,
                                                               maximum=300)) as accounts:
            for i in range(5):
                r = await accounts.login(f"name-{i}", "wrong password!", "10.0.0.1")
                assert r.session is None and r.locked_for == 0
            sixth = await accounts.login("name-5", "wrong password!", "10.0.0.1")
            assert sixth.locked_for == 30
            r = await accounts.login("operator", PASSWORD, "10.0.0.1")  # never tried it
            assert r.session is None and r.locked_for > 0
            r = await accounts.login("operator", PASSWORD, "10.0.0.2")
            assert r.session is not None
            accounts.clock.advance(timedelta(seconds=31))  # type: ignore[attr-defined]
            assert (await accounts.login("operator", PASSWORD, "10.0.0.1")).session

    asyncio.run(run())


def test_r23_account_ceiling_locks_only_the_clients_that_failed(tmp_path: Path) -> None:
    """Many clients guessing one account (each under its own lock) reach the account's
    ceiling: then every client that failed for it is locked, while a client that never
    failed — the real user's device — still logs in. The count is stored."""

    async def run() -> None:
        async with _Rig(tmp_path, account_lockout=LockoutPolicy(after=6, base=60,
                                                                maximum=300)) as accounts:
            for i in range(6):
                r = await accounts.login("operator", "wrong password!", f"10.0.1.{i}")
                assert r.session is None
            assert r.locked_for == 60  # the sixth reached the ceiling
            for i in range(6):  # right password, but these clients failed for it
                assert (await accounts.login("operator", PASSWORD, f"10.0.1.{i}")
                        ).locked_for > 0
            assert (await accounts.login("operator", PASSWORD, "10.0.2.1")).session
            # another account is not affected for the clients that failed
            assert (await accounts.login("officer", PASSWORD, "10.0.1.0")).session

    asyncio.run(run())


def test_r23_cli_unlock_clears_a_running_servers_locks_and_is_audited(tmp_path: Path) -> None:
    """``pinchpoint user unlock NAME`` (another process) clears the account's stored count;
    the server's in-memory per-client counts for the name go at the name's next login."""
    config = tmp_path / "c.toml"
    config.write_text('data_dir = "var"\n[store]\ntype = "sqlite"\n')

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "kernel.cli.main", "user", *args,
                               "--config", str(config)], input=stdin, capture_output=True,
                              text=True, check=False, cwd=tmp_path)

    made = cli("add", "operator", "--role", "operator", "--password-stdin", stdin=PASSWORD)
    assert made.returncode == 0, made.stderr

    async def server_side(step: str) -> None:
        ctx = AdapterContext(name="sqlite", data_dir=tmp_path / "var",
                             executor=BoundedExecutor(1, 2), clock=clock,
                             log=logging.getLogger("test.store"))
        store = SqliteStore(SqliteStore.Config(), ctx)
        await store.open()
        try:
            accounts.store = store
            if step == "fail":
                for _ in range(5):
                    await accounts.login("operator", "wrong password!", "10.0.0.7")
                assert (await accounts.login("operator", PASSWORD, "10.0.0.7")).locked_for > 0
            else:
                assert (await accounts.login("operator", PASSWORD, "10.0.0.7")).session
                async with store.transaction() as tx:
                    rows = list(await tx.audit.page(0, 10_000))
                unlock = [r for r in rows if r.action == "user.unlock"]
                assert unlock and unlock[-1].actor.startswith("cli:"), rows
                assert dict(unlock[-1].details or {}) == {"failures": 3}
        finally:
            await store.close()

    clock = ManualClock(datetime.now(UTC))
    accounts = Accounts(None, clock, Passwords(1, 8, 1),  # type: ignore[arg-type]
                        lockout=LockoutPolicy(after=3, base=300, maximum=600))
    asyncio.run(server_side("fail"))
    done = cli("unlock", "operator")
    assert done.returncode == 0 and "unlock done" in done.stdout, done.stderr
    clock.advance(timedelta(seconds=1))
    asyncio.run(server_side("after"))
    assert cli("unlock", "nobody").returncode == 5


def test_client_key_counts_ipv6_by_network() -> None:
    assert client_key("10.1.2.3") == "10.1.2.3"
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:bbbb::9")
    assert client_key("2001:db8:1:2::1") != client_key("2001:db8:1:3::1")
    assert client_key("::ffff:10.1.2.3") == "10.1.2.3"
    assert client_key(None) == client_key("") == "unknown"


@pytest.mark.parametrize("key", ["lockout_after", "lockout_client_after",
                                 "lockout_account_after", "lockout_base_s", "lockout_max_s"])
@pytest.mark.parametrize("bad", ["0", "-1", "1000000000"])
def test_r23_throttle_settings_refuse_hostile_values(tmp_path: Path, key: str,
                                                                bad: str) -> None:
    """Hostile: a lock after 0 or a negative number of failures, never in practice (a
    billion), a lock of zero, negative or decades — refused at load, naming the key."""
    path = tmp_path / "c.toml"
    path.write_text(f'data_dir = "var"\n[[services]]\ntype = "http"\n{key} = {bad}\n')
    with pytest.raises(ConfigError, match=rf"services\[0\]\.{key}"):
        load(path, environ={})
