"""R23: Argon2id, wrong password, lockout with backoff, idle and absolute expiry (manual
clock), CSRF on state-changing requests, cookie flags; R19: logins audited."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kernel.auth.accounts import UNKNOWN_NAMES_MAX
from kernel.auth.lockout import LockoutPolicy, after_failure, lock_seconds, locked_for
from kernel.auth.passwords import Passwords, WeakPassword, check_policy
from kernel.domain.records import LoginFailures
from tests.mobile_api.conftest import PASSWORD, LiveApi


def test_argon2id_hash_and_verify_r23() -> None:
    p = Passwords(time_cost=1, memory_kib=8, parallelism=1)
    encoded = p.hash_sync("a long enough secret")
    assert encoded.startswith("$argon2id$")
    assert p.verify_sync(encoded, "a long enough secret")
    assert not p.verify_sync(encoded, "a long enough secreT")
    assert not p.verify_sync("garbage", "x")
    with pytest.raises(WeakPassword):
        check_policy("short")


def test_lockout_backoff_doubles_and_caps_r23() -> None:
    policy = LockoutPolicy(after=3, base=30, maximum=100)
    assert [lock_seconds(n, policy) for n in (1, 2, 3, 4, 5, 6)] == [0, 0, 30, 60, 100, 100]
    now = datetime(2026, 1, 1, tzinfo=UTC)
    rec: LoginFailures | None = None
    for _ in range(3):
        rec = after_failure(rec, "x", now, policy)
    assert locked_for(rec, now) == 30
    assert locked_for(rec, now + timedelta(seconds=31)) == 0


def _login(api: LiveApi, name: str, password: str):  # type: ignore[no-untyped-def]
    with api.client() as c:
        return c.post("/api/auth/login", json={"name": name, "password": password})


def test_login_cookie_flags_and_audit_r23_r19(live_api: LiveApi) -> None:
    r = _login(live_api, "operator", PASSWORD)
    assert r.status_code == 200, r.text
    cookie = r.headers["set-cookie"]
    for flag in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/"):
        assert flag.lower() in cookie.lower(), cookie
    assert r.json()["role"] == "operator" and r.json()["csrf_token"]
    assert r.headers["cache-control"] == "no-store"
    bad = _login(live_api, "operator", "wrong password!")
    assert bad.status_code == 401 and "wrong user name or password" in bad.text
    unknown = _login(live_api, "nobody", "wrong password!")
    assert unknown.status_code == 401 and unknown.json()["detail"] == bad.json()["detail"]

    async def actions() -> list[str]:
        async with live_api.gov.store.transaction() as tx:
            return [a.action for a in await tx.audit.page(0, 10_000)]

    seen = live_api.call(actions())
    assert "auth.login" in seen and "auth.login_failed" in seen


def test_lockout_after_repeated_failures_r23(live_api: LiveApi) -> None:
    live_api.call(live_api.backend.accounts.add_user("locky", "officer", PASSWORD, "t"))
    for _ in range(2):
        assert _login(live_api, "locky", "wrong password!").status_code == 401
    third = _login(live_api, "locky", "wrong password!")  # this failure locks the name
    assert third.status_code == 429 and int(third.headers["retry-after"]) == 30
    locked = _login(live_api, "locky", PASSWORD)  # right password, but locked
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) == 30
    live_api.clock.advance(timedelta(seconds=31))
    assert _login(live_api, "locky", "wrong password!").status_code == 429  # 4th: 60 s
    live_api.clock.advance(timedelta(seconds=61))
    assert _login(live_api, "locky", PASSWORD).status_code == 200


def test_idle_and_absolute_expiry_r23(live_api: LiveApi) -> None:
    idle = timedelta(seconds=live_api.backend.settings.session_idle_s)
    with live_api.client("officer") as c:
        assert c.get("/api/auth/me").status_code == 200
        live_api.clock.advance(idle - timedelta(seconds=5))
        assert c.get("/api/auth/me").status_code == 200  # used: idle timer restarts
        live_api.clock.advance(idle - timedelta(seconds=5))
        assert c.get("/api/auth/me").status_code == 200
        live_api.clock.advance(idle + timedelta(seconds=1))
        assert c.get("/api/auth/me").status_code == 401
    absolute = timedelta(seconds=live_api.backend.settings.session_absolute_s)
    with live_api.client("officer") as c:
        step = idle / 2
        elapsed = timedelta(0)
        while elapsed + step < absolute:
            live_api.clock.advance(step)
            elapsed += step
            assert c.get("/api/auth/me").status_code == 200
        live_api.clock.advance(absolute - elapsed)
        assert c.get("/api/auth/me").status_code == 401


def test_csrf_required_on_state_changes_r23(live_api: LiveApi) -> None:
    s = live_api.seed
    for method, path, body in (
        ("POST", f"/api/alerts/{s.confirmed}/outcome", {"outcome": "not_stopped"}),
        ("POST", "/api/push/subscriptions", {"endpoint": "https://push.example/1",
                                             "keys": {"p256dh": "k", "auth": "a"}}),
        ("DELETE", "/api/push/subscriptions?endpoint=https://push.example/1", None),
        ("POST", "/api/auth/logout", None),
    ):
        with live_api.client("officer", csrf=False) as c:
            r = c.request(method, path, json=body)
            assert r.status_code == 403 and "CSRF" in r.text, (method, path, r.text)
            r = c.request(method, path, json=body, headers={"X-CSRF-Token": "forged"})
            assert r.status_code == 403, (method, path)
    with live_api.client("technical", csrf=False) as c:
        r = c.put(f"/api/deployments/{s.deployment}/settings", json={"match_threshold": 0.5})
        assert r.status_code == 403
    with live_api.client("officer") as c:  # with the token, GETs and POSTs work
        assert c.get("/api/auth/me").status_code == 200
        assert c.post("/api/auth/logout").status_code == 204
        assert c.get("/api/auth/me").status_code == 401


def test_disabled_user_loses_session_r23(live_api: LiveApi) -> None:
    live_api.call(live_api.backend.accounts.add_user("gone", "officer", PASSWORD, "t"))
    with live_api.client("gone") as c:
        assert c.get("/api/auth/me").status_code == 200
        live_api.call(live_api.backend.accounts.set_enabled("gone", False))
        assert c.get("/api/auth/me").status_code == 401
    assert _login(live_api, "gone", PASSWORD).status_code == 401


def _db_rows(api: LiveApi, sql: str) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(f"{(api.data_dir / 'pinchpoint.db').resolve().as_uri()}?mode=ro",
                          uri=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_r23_r19_unknown_name_logins_grow_neither_failures_nor_audit(
        live_api: LiveApi, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 12, finding 12: a flood of made-up names wrote one login_failures row and one
    audit row each. Now nothing is stored for names that are no account, the audit log gets
    one row a minute with the count folded in, memory is bounded — and such a name still
    locks, so lockout does not reveal which names are real.

    Adapted for issue 12, finding 1: one client trying 40 names now also trips the per-client
    count (``lockout_client_after``, a name spray), which is not what this test is about, so
    that count's ceiling is raised here while the flood runs; the per-client lock has its own
    test (test_r23_one_client_spraying_names_is_throttled_for_every_name)."""
    accounts = live_api.backend.accounts
    monkeypatch.setattr(accounts, "client_lockout",
                        LockoutPolicy(after=1000, base=30, maximum=300))
    try:
        _unknown_name_flood(live_api)
    finally:
        accounts._clients.clear()  # later tests of the module start with a clean client


def _unknown_name_flood(live_api: LiveApi) -> None:
    accounts = live_api.backend.accounts
    live_api.clock.advance(timedelta(seconds=61))  # a fresh audit interval
    failures_before = _db_rows(live_api, "SELECT count(*) FROM login_failures")[0][0]
    audit_sql = ("SELECT details FROM audit WHERE actor = 'unknown' AND action IN "
                 "('auth.login_failed', 'auth.login_locked') ORDER BY seq")
    audit_before = len(_db_rows(live_api, audit_sql))
    accounts.unknown_names_max = 10  # the bound, made small enough to see
    try:
        for i in range(40):
            assert _login(live_api, f"made-up-{i}", "wrong password!").status_code == 401
        assert len(accounts._unknown) == 10
    finally:
        accounts.unknown_names_max = UNKNOWN_NAMES_MAX
    assert _db_rows(live_api, "SELECT count(*) FROM login_failures")[0][0] == failures_before
    audited = _db_rows(live_api, audit_sql)
    assert len(audited) == audit_before + 1  # the first of the interval
    live_api.clock.advance(timedelta(seconds=61))
    assert _login(live_api, "made-up-next", "wrong password!").status_code == 401
    audited = _db_rows(live_api, audit_sql)
    assert len(audited) == audit_before + 2
    assert json.loads(audited[-1][0])["failures"] == 40  # 39 folded + this one
    # An unknown name locks like a real one (lockout_after = 3 in the tests).
    for _ in range(2):
        assert _login(live_api, "ghost", "wrong password!").status_code == 401
    assert _login(live_api, "ghost", "wrong password!").status_code == 429
    assert _login(live_api, "ghost", "wrong password!").status_code == 429
    # A real account's failures are still stored (its lockout survives a restart).
    live_api.call(accounts.add_user("realname", "officer", PASSWORD, "t"))
    assert _login(live_api, "realname", "wrong password!").status_code == 401
    assert _db_rows(live_api, "SELECT failures FROM login_failures WHERE name = 'realname'"
                    ) == [(1,)]
    assert _login(live_api, "realname", PASSWORD).status_code == 200


@pytest.mark.parametrize(("password", "why"), [
    ("aaaaaaaaaa", "different characters"),        # issue 12, finding 11
    (" " * 10, "different characters"),            # ten spaces
    ("\t \n \t \n \t \n", "different characters"),
    ("abababababab", "different characters"),
    ("1234567890", "run of"), ("qwertyuiop", "run of"), ("zyxwvutsrqpon", "run of"),
    ("Password123!", "common"), ("P@ssw0rd 2024", "common"), ("iloveyou12", "common"),
    ("Pinchpoint2026", "common"), ("police-1234", "common"),
    ("locksmith", "10 characters"), ("x" * 1025, "at most"),
])
def test_r23_password_policy_refuses_weak_passwords(password: str, why: str) -> None:
    with pytest.raises(WeakPassword, match=why):
        check_policy(password)


@pytest.mark.parametrize("password", ["correct horse battery staple", "kR8#vLq2!mZp",
                                      "operator-password-1", "tram ticket umbrella 7"])
def test_r23_password_policy_accepts_strong_passwords(password: str) -> None:
    check_policy(password, "op")


def test_r23_password_must_not_be_or_contain_the_user_name(live_api: LiveApi) -> None:
    accounts = live_api.backend.accounts
    for name, password in (("sergeant.kay", "sergeant.kay"), ("sergeant.kay", "SERGEANT.KAY"),
                           ("dispatcher", "dispatcher2026!"), ("Wright", "mr wright 1234")):
        with pytest.raises(WeakPassword, match="user name"):
            live_api.call(accounts.add_user(name, "officer", password, "t"))
    live_api.call(accounts.add_user("sergeant.kay", "officer", PASSWORD, "t"))
    with pytest.raises(WeakPassword, match="user name"):
        live_api.call(accounts.set_password("sergeant.kay", "Sergeant.Kay-2026"))
