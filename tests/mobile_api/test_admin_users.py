"""Issue 15, admin screens: user administration through the API (R23, R19). Each route is the
CLI's domain call (:class:`kernel.auth.accounts.Accounts`), audited under the CLI's action
name; hostile callers and hostile input get 400/403/409, never 500."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from kernel.auth.accounts import LastAdminRefused
from kernel.auth.passwords import POOL_THREAD, Passwords
from kernel.domain.records import AuditRecord
from tests.mobile_api.conftest import PASSWORD, LiveApi
from tests.mobile_api.sse_client import SseReader
from tests.waiting import wait_until

NEW_PASSWORD = "tram ticket umbrella 7"


def _audit(api: LiveApi, action: str) -> list[AuditRecord]:
    async def read() -> list[AuditRecord]:
        async with api.gov.store.transaction() as tx:
            return [r for r in await tx.audit.page(0, 100_000) if r.action == action]

    return api.call(read())


def _login(api: LiveApi, name: str, password: str) -> httpx.Response:
    # a client address of its own: the throttle tests' counts are not this test's business
    with httpx.Client(base_url=api.url, timeout=10, verify=api.verify) as c:
        return c.post("/api/auth/login", json={"name": name, "password": password})


def _add(api: LiveApi, name: str, role: str = "officer") -> None:
    api.call(api.backend.accounts.add_user(name, role, PASSWORD, "test"))


def test_issue15_admin_creates_a_user_with_a_role_and_it_is_audited(live_api: LiveApi) -> None:
    with live_api.client("admin") as admin:
        r = admin.post("/api/users", json={"name": "pc.morgan", "role": "officer",
                                           "password": PASSWORD})
        assert r.status_code == 201, r.text
        assert r.json() == {"user": "pc.morgan", "action": "add", "sessions_ended": 0}
        listed = {u["name"]: u for u in admin.get("/api/users").json()}
    assert listed["pc.morgan"]["role"] == "officer" and listed["pc.morgan"]["enabled"]
    assert not any("hash" in k or "password_hash" in str(v) for u in listed.values()
                   for k, v in u.items())
    assert "argon2" not in str(listed)
    me = _login(live_api, "pc.morgan", PASSWORD)
    assert me.status_code == 200 and me.json()["role"] == "officer"
    [row] = _audit(live_api, "user.add")[-1:]
    assert (row.actor, row.subjects, row.details) == ("admin", {"user": "pc.morgan"},
                                                      {"role": "officer"})


@pytest.mark.parametrize(("body", "why"), [
    ({"name": "pc.weak", "role": "officer", "password": "Password123!"}, "common"),
    ({"name": "pc.weak", "role": "officer", "password": "pc.weak 2026!"}, "user name"),
    ({"name": "pc.weak", "role": "officer", "password": "short"}, "10 characters"),
    ({"name": "pc.weak", "role": "officer", "password": "x" * 1025}, "1024"),
    ({"name": "pc.weak", "role": "overlord", "password": PASSWORD}, "role"),
    ({"name": "pc weak", "role": "officer", "password": PASSWORD}, "name"),
    ({"name": "../etc", "role": "officer", "password": PASSWORD}, "name"),
    ({"name": "x" * 65, "role": "officer", "password": PASSWORD}, "name"),
    ({"name": "", "role": "officer", "password": PASSWORD}, "name"),
    ({"name": "pc\u00f1o", "role": "officer", "password": PASSWORD}, "name"),
    ({"name": "pc.weak", "role": "officer", "password": PASSWORD, "admin": True}, "admin"),
    ({"name": "pc.weak", "role": "officer"}, "password"),
    ({"name": "admin", "role": "admin", "password": PASSWORD}, "exists"),
])
def test_issue15_user_creation_refuses_weak_passwords_and_odd_input(
        live_api: LiveApi, body: dict[str, Any], why: str) -> None:
    """Hostile: the password policy applies as in the CLI; odd names, roles, unknown fields
    and a duplicate are 400 with the reason, never 500, and create nothing."""
    with live_api.client("admin") as admin:
        r = admin.post("/api/users", json=body)
        assert r.status_code == 400, r.text
        assert why in r.text
        assert "pc.weak" not in {u["name"] for u in admin.get("/api/users").json()}


ODD_NAMES = ["no-such-user", "x" * 300, "%2E%2E%2Fadmin", "a%00b", "%E2%80%AE", "admin%20"]


@pytest.mark.parametrize("name", ODD_NAMES)
def test_issue15_admin_actions_on_unknown_or_odd_names_are_400(live_api: LiveApi,
                                                               name: str) -> None:
    with live_api.client("admin") as admin:
        for method, path, body in (
                ("POST", f"/api/users/{name}/password", {"password": NEW_PASSWORD}),
                ("POST", f"/api/users/{name}/disable", None),
                ("POST", f"/api/users/{name}/enable", None),
                ("POST", f"/api/users/{name}/unlock", None),
                ("DELETE", f"/api/users/{name}/sessions", None)):
            r = admin.request(method, path, json=body)
            assert r.status_code in (400, 404), (method, path, r.status_code, r.text)


def test_issue15_only_the_admin_administers_users_and_csrf_is_required(
        live_api: LiveApi) -> None:
    """Wrong role → 403; the admin without or with a forged CSRF token → 403; nothing
    changes either way."""
    _add(live_api, "pc.target")
    calls = [("POST", "/api/users", {"name": "pc.intruder", "role": "admin",
                                     "password": PASSWORD}),
             ("POST", "/api/users/pc.target/password", {"password": NEW_PASSWORD}),
             ("POST", "/api/users/pc.target/disable", None),
             ("POST", "/api/users/pc.target/enable", None),
             ("POST", "/api/users/pc.target/unlock", None),
             ("DELETE", "/api/users/pc.target/sessions", None)]
    with live_api.client("pc.target") as target:
        for role in ("officer", "operator", "technical", "commander"):
            with live_api.client(role) as c:
                assert c.get("/api/users").status_code == 403
                for method, path, body in calls:
                    assert c.request(method, path, json=body).status_code == 403, (role, path)
        with live_api.client("admin", csrf=False) as c:
            for method, path, body in calls:
                r = c.request(method, path, json=body)
                assert r.status_code == 403 and "CSRF" in r.text, path
                r = c.request(method, path, json=body, headers={"X-CSRF-Token": "forged"})
                assert r.status_code == 403, path
        assert target.get("/api/auth/me").status_code == 200  # untouched
    assert _login(live_api, "pc.target", PASSWORD).status_code == 200
    assert _login(live_api, "pc.intruder", PASSWORD).status_code == 401


def test_issue15_password_reset_uses_the_policy_and_the_pool_and_ends_sessions(
        live_api: LiveApi, monkeypatch: pytest.MonkeyPatch) -> None:
    _add(live_api, "pc.reset")
    threads: list[str] = []
    real_hash = Passwords.hash_sync

    def spy(self: Passwords, password: str) -> str:
        threads.append(threading.current_thread().name)
        return real_hash(self, password)

    monkeypatch.setattr(Passwords, "hash_sync", spy)
    with live_api.client("pc.reset") as user, live_api.client("admin") as admin:
        weak = admin.post("/api/users/pc.reset/password", json={"password": "qwertyuiop"})
        assert weak.status_code == 400 and "run of" in weak.text
        assert user.get("/api/auth/me").status_code == 200  # a refused reset changes nothing
        r = admin.post("/api/users/pc.reset/password", json={"password": NEW_PASSWORD})
        assert r.status_code == 200, r.text
        assert r.json()["sessions_ended"] == 1
        assert user.get("/api/auth/me").status_code == 401
        assert admin.post("/api/users/pc.reset/password",
                          json={"password": NEW_PASSWORD, "x": 1}).status_code == 400
    assert threads and all(t.startswith(POOL_THREAD) for t in threads), threads
    assert _login(live_api, "pc.reset", PASSWORD).status_code == 401
    assert _login(live_api, "pc.reset", NEW_PASSWORD).status_code == 200
    row = _audit(live_api, "user.passwd")[-1]
    assert row.actor == "admin" and row.subjects == {"user": "pc.reset"}
    assert NEW_PASSWORD not in str(row.details)


def _publish(api: LiveApi, n: int) -> int:
    last = 0
    for i in range(n):
        last = api.backend.events.publish("alert", {"alert"}, {"alert_id": f"x{i}"}).seq
    return last


@pytest.mark.parametrize("action", ["disable", "end_sessions"])
def test_issue15_r5_disabling_or_ending_sessions_closes_the_users_open_feed(
        live_api: LiveApi, action: str) -> None:
    """An officer's open /api/feed ends once the admin disables them or ends their sessions
    (the feed re-checks the session per event, issue 12 finding 4): nothing after it."""
    name = f"pc.feed-{action}"
    _add(live_api, name)
    feed = SseReader(live_api.client(name))
    try:
        first = _publish(live_api, 1)
        assert feed.wait_for(lambda e: e.id == str(first))
        with live_api.client("admin") as admin:
            r = (admin.post(f"/api/users/{name}/disable") if action == "disable"
                 else admin.delete(f"/api/users/{name}/sessions"))
            assert r.status_code == 200, r.text
            assert r.json()["sessions_ended"] == 1
        _publish(live_api, 10)
        wait_until(lambda: not feed._thread.is_alive(), 10, "the stream ended")
        assert [e.id for e in feed.events] == [str(first)]
    finally:
        feed.close()
    row = _audit(live_api, f"user.{action}")[-1]
    assert row.actor == "admin" and row.details == {"sessions_ended": 1}
    expected = 401 if action == "disable" else 200
    assert _login(live_api, name, PASSWORD).status_code == expected


def test_issue15_admin_sees_a_lockout_and_unlocks_it(live_api: LiveApi) -> None:
    _add(live_api, "pc.locked")
    for _ in range(3):  # lockout_after = 3 in the tests
        _login(live_api, "pc.locked", "wrong password!")
    assert _login(live_api, "pc.locked", PASSWORD).status_code == 429
    with live_api.client("admin") as admin:
        [row] = [u for u in admin.get("/api/users").json() if u["name"] == "pc.locked"]
        assert row["failures"] == 3 and row["throttled_clients"] == 1
        assert admin.post("/api/users/pc.locked/unlock").json()["failures_cleared"] == 3
        [row] = [u for u in admin.get("/api/users").json() if u["name"] == "pc.locked"]
        assert row["failures"] == 0 and row["locked_until"] is None
    assert _login(live_api, "pc.locked", PASSWORD).status_code == 200


def test_issue15_the_last_enabled_admin_cannot_be_disabled(live_api: LiveApi) -> None:
    """An install with no admin cannot be administered from the app: disabling the last
    enabled admin — yourself or by the CLI — is refused (409) and changes nothing; with a
    second admin, an admin may disable themselves (their session ends)."""
    with live_api.client("admin") as admin:
        r = admin.post("/api/users/admin/disable")
        assert r.status_code == 409 and "last enabled admin" in r.text
        assert admin.get("/api/auth/me").status_code == 200
        _add(live_api, "admin2", "admin")
        with live_api.client("admin2") as other:
            assert other.post("/api/users/admin2/disable").status_code == 200
            assert other.get("/api/auth/me").status_code == 401
            # admin2 is disabled now: admin is the last again
            assert admin.post("/api/users/admin/disable").status_code == 409
            assert admin.post("/api/users/admin2/enable").status_code == 200
        with live_api.client("admin2") as other:
            r = other.post("/api/users/admin/disable")
            assert r.status_code == 200 and r.json()["sessions_ended"] >= 1
        assert admin.get("/api/auth/me").status_code == 401
    with live_api.client("admin2") as other:  # leave the module's admin as it was
        assert other.post("/api/users/admin/enable").status_code == 200
        assert other.post("/api/users/admin2/disable").status_code == 200
    with pytest.raises(LastAdminRefused):  # the CLI's call refuses it too
        live_api.call(live_api.backend.accounts.set_enabled("admin", False))
