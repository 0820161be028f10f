"""Issue 15 in a real browser (Debian's Chromium) against a real ``pinchpoint run``: the
published deployment record shows the API's figures and prints without the app's chrome (R20);
the admin screens create a user, unlock it after a lockout and disable it, the commander wipes
a deployment by typing its name, and the audit log verifies and holds each action (R16, R19,
R23). Issue 14 in the same runtime (a runtime per module is slow on two cores): the admin
enrols an officer's tablet from the Devices screen, and when the tablet's deployment ends its
browser holds no alert data (Cache Storage and IndexedDB read through the DevTools protocol);
revoked, the tablet is logged out. Receipts (issue 14, done-when 4): two enrolled tablets
get a confirmed alert, one responds; the console, the other tablet and the match report show
it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from demo.walkpast import DEMO_FACES
from kernel.domain.deployments import DeploymentDraft
from kernel.domain.records import AuditRecord
from kernel.domain.watchlists import EntryInput
from mobile_api.backend import accounts_for
from mobile_api.settings import ApiSettings
from tests.pwa.live_runtime import PASSWORD, LiveRuntime
from tests.pwa.test_pwa_e2e import (
    SETTLED,
    SW_ACTIVATED,
    TABLET,
    assert_accessible,
    login,
    shoot,
)

RECORD_REFERENCE = "WL-REC-0099"


def _gov(live: LiveRuntime) -> Any:
    gov = live.runtime.governance
    assert gov is not None
    return gov


async def _recorded_deployment(live: LiveRuntime) -> str:
    """A demo-like deployment driven through the domain, ended: figures that no longer move
    (the runtime's own live deployment keeps counting the clip)."""
    dep_id, entry_id = await live.another_live(
        name="Op Record", case_reference="INT-REC-1", reference=RECORD_REFERENCE,
        objectives="record test", command_team=["Gold: Grey"], threshold=0.95)
    gov = _gov(live)
    face = (DEMO_FACES / "obama2.jpg").read_bytes()
    # three people (captured apart by more than the episode window, issue 15)
    made = [await gov.alerts.create_candidate(dep_id, entry_id, "gate-1", 0.96,
                                              gov.ctx.clock.now() + timedelta(minutes=10 * i),
                                              face, face)
            for i in range(3)]
    await gov.alerts.confirm(made[0].id, "op")
    await gov.alerts.confirm(made[1].id, "op")
    await gov.alerts.reject(made[2].id, "op")
    await gov.alerts.record_outcome(made[0].id, "arrested", "ofc")
    await gov.alerts.record_outcome(made[1].id, "stopped_not_the_person", "ofc")
    await gov.reports.record_face_counts(dep_id, "gate-1", gov.ctx.clock.now(), 321, 3)
    await gov.deployments.end(dep_id, "cmd")
    return dep_id


FIELDS = ("faces_seen", "candidates", "alerts_confirmed", "candidates_rejected",
          "false_alerts", "engagements", "arrests", "watchlist_size", "watchlist_wanted",
          "outcome_no_outcome_recorded", "date", "location")


def test_issue15_r20_published_record_page_shows_the_apis_figures_and_prints(
        live: LiveRuntime, browser: Any, artifacts: Path) -> None:
    dep = live.call(_recorded_deployment(live))
    context = browser.new_context(viewport=TABLET)
    page = context.new_page()
    login(page, live.url, "cmd", f"#/deployments/{dep}")
    page.click("text=Published deployment record")
    page.wait_for_selector("[data-field=faces_seen]")
    api = page.evaluate("(p) => fetch(p).then((r) => r.json())",
                        f"/api/deployments/{dep}/published")
    shown = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('[data-field]')]
        .map((td) => [td.dataset.field, td.textContent]))""")
    flat = {**api, **{f"watchlist_{k}": v for k, v in api["watchlist_by_category"].items()},
            **{f"outcome_{k}": v for k, v in api["outcomes"].items()}}
    for field in FIELDS:
        assert shown[field] == str(flat[field]), (field, shown[field], flat[field])
    assert (api["faces_seen"], api["alerts_confirmed"], api["false_alerts"],
            api["arrests"]) == (321, 2, 1, 1)
    assert "0.080 %" in page.inner_text("article.published")  # the configured calibration
    text = page.inner_text("main")
    for secret in (RECORD_REFERENCE, "Op Record", "Supt. Hale", "INT-REC-1", "Grey", "PNC"):
        assert secret not in text, secret
    assert page.locator("main img").count() == 0
    page.evaluate(SETTLED)
    assert_accessible(page, "published record")
    shoot(page, artifacts, "20-published-record", "published-record.png")
    csv = page.evaluate("(p) => fetch(p).then((r) => r.text())",
                        f"/api/deployments/{dep}/published?format=csv")
    assert f",{api['faces_seen']}," in csv and RECORD_REFERENCE not in csv
    page.emulate_media(media="print")  # the print stylesheet: the record alone
    assert not page.is_visible(".topbar")
    assert not page.is_visible("button:has-text('Print')")
    assert page.is_visible("[data-field=faces_seen]")
    page.screenshot(path=str(artifacts / "20b-published-record-print.png"), full_page=True)
    context.close()


def _audit(live: LiveRuntime) -> list[AuditRecord]:
    async def read() -> list[AuditRecord]:
        async with _gov(live).store.transaction() as tx:
            rows: list[AuditRecord] = await tx.audit.page(0, 1_000_000)
            return rows

    return live.call(read())


async def _wipe_target(live: LiveRuntime) -> str:
    gov = _gov(live)
    now = gov.ctx.clock.now()
    dep = await gov.deployments.create(DeploymentDraft(
        name="Wipe rehearsal 3", authorising_officer="Supt. Hale", location="Depot",
        starts_at=now, ends_at=now + timedelta(hours=1), objectives="wipe test",
        case_reference="INT-W", command_team=[]), "cmd")
    return str(dep.id)


def _login_status(live: LiveRuntime, name: str, password: str) -> int:
    return httpx.post(f"{live.url}/api/auth/login", json={"name": name, "password": password},
                      timeout=20).status_code


def test_issue15_r19_r23_admin_screens_and_wipe_are_audited(
        live: LiveRuntime, browser: Any, artifacts: Path) -> None:
    before = len(_audit(live))
    context = browser.new_context(viewport=TABLET)
    page = context.new_page()
    login(page, live.url, "adm")
    page.wait_for_selector("tr[data-user=adm]")  # the admin's home: Users
    page.fill("#new-user", "pc.browser")
    page.select_option("#new-role", "officer")
    page.fill("#new-pw", "password1234")  # refused by the policy, said on the screen
    page.fill("#new-pw2", "password1234")
    page.click("button:has-text('Create user')")
    page.wait_for_selector("text=Not created:")
    page.fill("#new-pw", PASSWORD)
    page.fill("#new-pw2", PASSWORD)
    page.click("button:has-text('Create user')")
    page.wait_for_selector("tr[data-user='pc.browser']")
    assert _login_status(live, "pc.browser", PASSWORD) == 200

    for _ in range(5):  # lockout_after = 5 (the default)
        _login_status(live, "pc.browser", "wrong password!")
    assert _login_status(live, "pc.browser", PASSWORD) == 429
    page.reload()
    page.wait_for_selector("tr[data-user='pc.browser'] button[data-action=unlock]")
    page.evaluate(SETTLED)
    assert_accessible(page, "users")
    shoot(page, artifacts, "21-admin-users", "admin-users.png")
    page.click("tr[data-user='pc.browser'] button[data-action=unlock]")
    page.wait_for_selector("text=pc.browser unlocked: 5 failed login(s) cleared.")
    assert _login_status(live, "pc.browser", PASSWORD) == 200
    page.click("tr[data-user='pc.browser'] button[data-action=disable]")
    page.wait_for_selector("tr[data-user='pc.browser'] .badge:has-text('disabled')")
    assert _login_status(live, "pc.browser", PASSWORD) == 401
    # the last admin cannot disable themselves: the screen says why, the session lives on
    page.click("tr[data-user=adm] button[data-action=disable]")
    page.wait_for_selector("text=last enabled admin")
    context.close()

    dep = live.call(_wipe_target(live))
    context = browser.new_context(viewport=TABLET)
    page = context.new_page()
    login(page, live.url, "cmd", f"#/deployments/{dep}")
    page.wait_for_selector("#wipe-h")
    page.fill("#wipe-reason", "created in error, ref. DPO-7")
    page.fill("#wipe-name", "Wipe rehearsal")  # not the name: the button stays off
    assert page.is_disabled("form.wipe button[type=submit]")
    page.fill("#wipe-name", "Wipe rehearsal 3")
    page.click("form.wipe button[type=submit]")
    page.wait_for_selector("text=Deployment wiped")
    assert page.evaluate("(p) => fetch(p).then((r) => r.status)",
                         f"/api/deployments/{dep}") == 404
    context.close()

    with httpx.Client(base_url=live.url, timeout=20) as c:
        assert c.post("/api/auth/login", json={"name": "adm", "password": PASSWORD}
                      ).status_code == 200
        report = c.get("/api/audit/verify").json()
    assert report["ok"] is True, report
    new = [(r.actor, r.action, r.subjects) for r in _audit(live)[before:]]
    for expected in (("adm", "user.add", {"user": "pc.browser"}),
                     ("adm", "user.unlock", {"user": "pc.browser"}),
                     ("adm", "user.disable", {"user": "pc.browser"}),
                     ("cmd", "deployment.wipe", {"deployment": dep})):
        assert expected in new, (expected, new)
    [wiped] = [r for r in _audit(live)[before:] if r.action == "deployment.wipe"]
    assert wiped.details["reason"] == "created in error, ref. DPO-7"


async def _tablet_deployment(live: LiveRuntime) -> str:
    """A second live deployment, the newest: the officer's app shows it."""
    gov, engine = _gov(live), live.runtime.engine
    assert engine is not None
    now = gov.ctx.clock.now()
    dep = await gov.deployments.create(DeploymentDraft(
        name="Op Leave", authorising_officer="Supt. Hale", location="East gate",
        starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(hours=2),
        objectives="devices test", case_reference="INT-DEV-1", command_team=["Gold: Grey"],
        match_threshold=0.99), "cmd")
    res = await gov.watchlists.enrol(dep.id, engine, (DEMO_FACES / "obama.jpg").read_bytes(),
                                     actor="tech", entry=EntryInput(
                                         reference="WL-DEV-7", category="wanted",
                                         source="PNC", reason="warrant"))
    assert res.ok
    await gov.deployments.authorise(dep.id, "cmd")
    await gov.watchlists.review(dep.id, "cmd")
    await gov.deployments.go_live(dep.id, "cmd")
    return str(dep.id)


async def _confirmed_in(live: LiveRuntime, dep: str) -> str:
    gov = _gov(live)
    [entry] = [e for e in await gov.watchlists.entries(dep)]
    face = (DEMO_FACES / "obama2.jpg").read_bytes()
    alert = await gov.alerts.create_candidate(dep, entry.id, "gate-1", 0.995,
                                              gov.ctx.clock.now(), face, face)
    await gov.alerts.confirm(alert.id, "op")
    return str(alert.id)


PLANT = """async (id) => {
    // what an older build or an offline list could have stored: an alert and its image
    await (await caches.open('pinchpoint-alerts')).put(`/api/alerts/${id}`,
        new Response(JSON.stringify({id})));
    const shell = (await caches.keys()).find((k) => k.startsWith('pinchpoint-shell-'));
    await (await caches.open(shell)).put(`/api/alerts/${id}/images/face`, new Response('jpeg'));
    await new Promise((done, fail) => {
      const open = indexedDB.open('pinchpoint-offline', 1);
      open.onupgradeneeded = () => open.result.createObjectStore('alerts', {keyPath: 'id'});
      open.onerror = () => fail(open.error);
      open.onsuccess = () => {
        const tx = open.result.transaction('alerts', 'readwrite');
        tx.objectStore('alerts').put({id, torso: 'jpeg'});
        tx.oncomplete = () => { open.result.close(); done(); };
      };
    });
    const reg = await navigator.serviceWorker.ready;
    await reg.showNotification('New confirmed alert', {tag: `alert-${id}`, data: {alert_id: id}});
}"""


def _stored(cdp: Any, origin: str) -> dict[str, list[str]]:
    """What the browser stores for ``origin``, read through the DevTools protocol: each
    cache's request paths, and the IndexedDB database names."""
    out: dict[str, list[str]] = {}
    for cache in cdp.send("CacheStorage.requestCacheNames", {"securityOrigin": origin})["caches"]:
        entries = cdp.send("CacheStorage.requestEntries", {
            "cacheId": cache["cacheId"], "skipCount": 0, "pageSize": 500})["cacheDataEntries"]
        out[f"cache:{cache['cacheName']}"] = [
            httpx.URL(e["requestURL"]).path for e in entries]
    out["indexeddb"] = cdp.send("IndexedDB.requestDatabaseNames",
                                {"securityOrigin": origin})["databaseNames"]
    return out


def test_issue14_enrolled_tablet_drops_an_ended_deployments_alerts_and_is_revoked(
        live: LiveRuntime, browser: Any, artifacts: Path) -> None:
    """Issue 14, done-when 3 (and enrolment, revocation in the PWA): the admin issues a code
    on the Devices screen, the officer enrols the tablet with it and sees a confirmed alert;
    the deployment ends and the tablet drops everything: no card, no notification, and
    through the DevTools protocol no cache entry but the app shell and no IndexedDB database
    (planted ones included). Revoked from the Devices screen, the tablet is logged out."""
    before = len(_audit(live))
    dep = live.call(_tablet_deployment(live))
    console = browser.new_context(viewport=TABLET)
    admin = console.new_page()
    login(admin, live.url, "adm", "#/devices")
    admin.wait_for_selector("#enrol-officer")
    admin.fill("#enrol-officer", "ofc")
    admin.fill("#enrol-label", "Tablet 7")
    admin.click("button:has-text('Issue an enrolment code')")
    code = admin.inner_text("#enrol-code-out", timeout=15_000)
    assert len(code) == 9 and code[4] == "-", code

    tablet = browser.new_context(viewport=TABLET)
    tablet.grant_permissions(["notifications"], origin=live.url)
    page = tablet.new_page()
    try:
        page.goto(f"{live.url}/")
        page.fill("#enrol-code", code)
        page.click("button:has-text('Enrol this device')")
        page.wait_for_selector("#who button")
        page.wait_for_selector("#status[data-state=live]", timeout=30_000)
        assert page.evaluate(SW_ACTIVATED) == "activated"
        alert_id = live.call(_confirmed_in(live, dep))
        page.wait_for_selector(f"li[data-id='{alert_id}'] img", timeout=30_000)
        page.evaluate(PLANT, alert_id)
        cdp = tablet.new_cdp_session(page)
        stored = _stored(cdp, live.url)
        assert "cache:pinchpoint-alerts" in stored and stored["indexeddb"] == [
            "pinchpoint-offline"], stored
        admin.reload()
        admin.wait_for_selector("tr[data-device] td:has-text('Live feed')", timeout=30_000)
        row = admin.inner_text("tr[data-device]")
        assert "ofc" in row and "Tablet 7" in row and "pinchpoint-shell-v11" in row, row
        admin.evaluate(SETTLED)
        assert_accessible(admin, "devices")
        shoot(admin, artifacts, "22-admin-devices")

        live.call(_gov(live).deployments.end(dep, "cmd"))
        page.wait_for_function("(id) => !document.querySelector(`li[data-id='${id}']`)",
                               arg=alert_id, timeout=30_000)
        deadline = time.monotonic() + 15  # the purge runs right after the card goes
        while time.monotonic() < deadline:
            stored = _stored(cdp, live.url)
            caches = {k: v for k, v in stored.items() if k.startswith("cache:")}
            if not stored["indexeddb"] and all(
                    k.startswith("cache:pinchpoint-shell-") and not [
                        p for p in v if p.startswith("/api/")] for k, v in caches.items()):
                break
            # A poll of the condition above, not a fixed wait; tests.waiting.wait_until
            # cannot drive the sync Playwright/DevTools calls (its asyncio loop refuses them).
            page.wait_for_timeout(100)
        assert stored["indexeddb"] == [], stored
        assert [k for k in stored if k.startswith("cache:")] == ["cache:pinchpoint-shell-v11"]
        assert not [p for p in stored["cache:pinchpoint-shell-v11"] if p.startswith("/api/")]
        assert "/index.html" in stored["cache:pinchpoint-shell-v11"]  # the shell stays
        notes = page.evaluate("() => navigator.serviceWorker.ready"
                              ".then((r) => r.getNotifications()).then((ns) => ns.length)")
        assert notes == 0
        assert alert_id not in page.content()

        page.evaluate("""() => navigator.serviceWorker.ready.then((r) => r.showNotification(
            'New confirmed alert', {tag: 'alert-later'}))""")
        admin.click("tr[data-device] button[data-device]")
        admin.wait_for_selector("text=revoked: 1 session(s) ended")
        page.wait_for_selector("#login-name", timeout=30_000)  # the tablet is logged out
        # a revoked tablet keeps nothing it can show, not even a notification
        page.wait_for_function("""() => navigator.serviceWorker.ready
            .then((r) => r.getNotifications()).then((ns) => ns.length === 0)""",
                               timeout=15_000)
    finally:
        tablet.close()
        console.close()
    new = [(r.actor, r.action) for r in _audit(live)[before:]]
    for expected in (("adm", "device.code_issued"), ("ofc", "device.enrol"),
                     ("adm", "device.revoke"), ("cmd", "deployment.ended")):
        assert expected in new, (expected, new)


# Issue 14, done-when 4: receipts ----------------------------------------------------------
CANDIDATE_WAIT_MS = 45_000
SECOND_OFFICER = "ofc2"



@contextmanager
def _api(live: LiveRuntime, user: str) -> Iterator[httpx.Client]:
    """A client logged in as ``user`` (cookie and CSRF header)."""
    with httpx.Client(base_url=live.url, timeout=10) as client:
        r = client.post("/api/auth/login", json={"name": user, "password": PASSWORD})
        assert r.status_code == 200, r.text
        client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        yield client


def _enrolled_tablet(live: LiveRuntime, browser: Any, officer: str, label: str
                     ) -> tuple[Any, Any, str]:
    """A browser context enrolled as ``officer``'s tablet, its alert list open and live."""
    with _api(live, "adm") as admin:
        r = admin.post("/api/devices/codes", json={"officer": officer, "label": label})
    assert r.status_code == 201, r.text
    context = browser.new_context(viewport=TABLET)
    page = context.new_page()
    page.goto(f"{live.url}/")
    page.fill("#enrol-code", r.json()["code"])
    page.click("button:has-text('Enrol this device')")
    page.wait_for_selector("#who button")
    page.wait_for_selector("#status[data-state=live]", timeout=30_000)
    device_id = page.evaluate("() => fetch('/api/auth/me').then((r) => r.json())"
                              ".then((me) => me.device_id)")
    assert isinstance(device_id, str) and device_id.startswith("dev-"), device_id
    return context, page, device_id


def test_issue14_receipts_two_tablets_one_responding_console_and_report(
        live: LiveRuntime, browser: Any, artifacts: Path) -> None:
    """Issue 14, done-when 4: two officers' tablets (two browser contexts, each enrolled
    with a one-time code) are connected when the operator confirms a candidate on the
    console. Both report it delivered (by the live feed, the path that is up here); one
    officer opens it and taps "Responding"; the operator's console shows delivered (path),
    opened and responding per device, the other officer's list shows the alert is taken, and
    the match report lists the receipts; the audit chain verifies."""
    gov = _gov(live)
    accounts = accounts_for(gov, ApiSettings(argon2_time_cost=1, argon2_memory_kib=8,
                                             argon2_parallelism=1))
    live.call(accounts.add_user(SECOND_OFFICER, "officer", PASSWORD, "test"))
    one_ctx, one, one_dev = _enrolled_tablet(live, browser, "ofc", "Tablet A")
    two_ctx, two, two_dev = _enrolled_tablet(live, browser, SECOND_OFFICER, "Tablet B")
    console_ctx = browser.new_context(viewport=TABLET)
    console = console_ctx.new_page()
    try:
        login(console, live.url, "op", "#/console")
        console.wait_for_selector("#confirm:not([disabled])", timeout=CANDIDATE_WAIT_MS)
        before = {a.id for a in live.call(gov.alerts.listing_for(
            "operator", live.deployment, "confirmed"))}
        console.click("#confirm")
        console.wait_for_selector("text=Confirmed: officers are alerted.")
        # the pipeline goes on raising: a sighting of the same person after the confirm is
        # listed as "seen again" under the confirmed alert's episode (issue 15), not an alert
        # of its own (1 run in 3 fresh clones saw one land before this listing)
        [alert] = [a for a in live.call(gov.alerts.listing_for(
            "operator", live.deployment, "confirmed")) if a.id not in before
                   and not a.seen_again]

        # both tablets have it (over the live feed) and say so
        for page in (one, two):
            page.wait_for_selector(f"li[data-id='{alert.id}']", timeout=30_000)
        row = f"tr[data-alert='{alert.id}'][data-device='{{}}']"
        for dev in (one_dev, two_dev):
            console.wait_for_selector(f"{row.format(dev)} td.delivered:has-text('via live feed')",
                                      timeout=15_000)

        # officer one opens it and taps Responding
        one.click(f"li[data-id='{alert.id}'] a.card")
        one.wait_for_selector("#responding:not([disabled])")
        one.click("#responding")
        one.wait_for_selector("text=The others see you are responding.")
        one.wait_for_selector("#taken:has-text('Taken: ofc responding')", timeout=10_000)

        # the other officer sees it is taken, without touching anything
        two.wait_for_selector(f"li[data-id='{alert.id}'] .taken:has-text('Taken: ofc responding')",
                              timeout=15_000)
        two.evaluate(SETTLED)
        assert_accessible(two, "officer list (taken)")
        shoot(two, artifacts, "24-officer-taken")

        # the operator's console: per device, delivered (path), opened, responding
        console.wait_for_function(
            """(sel) => { const r = document.querySelector(sel);
                 return r && r.querySelector('td.opened').textContent !== '—'
                   && r.querySelector('td.responding').textContent !== '—'; }""",
            arg=row.format(one_dev), timeout=15_000)
        first = console.inner_text(row.format(one_dev))
        second = console.inner_text(row.format(two_dev))
        assert "ofc (Tablet A)" in first and "via live feed" in first, first
        assert f"{SECOND_OFFICER} (Tablet B)" in second and "via live feed" in second, second
        assert second.split("\t")[-2:] == ["—", "—"], second  # not opened, not responding
        console.evaluate(SETTLED)
        assert_accessible(console, "console receipts")
        shoot(console, artifacts, "25-console-receipts")
    finally:
        for context in (one_ctx, two_ctx, console_ctx):
            context.close()

    # the match report lists them; the audit chain holds them and verifies
    with _api(live, "cmd") as commander:
        report = commander.get(f"/api/deployments/{live.deployment}/report")
        csv = commander.get(f"/api/deployments/{live.deployment}/report",
                            params={"format": "csv"})
    assert report.status_code == 200, report.text
    [listed] = [r for r in report.json() if r["alert_id"] == alert.id]
    got = [(r["device_id"], r["kind"], r["path"]) for r in listed["receipts"]]
    assert sorted(got) == sorted([(one_dev, "delivered", "feed"), (one_dev, "opened", "feed"),
                                  (one_dev, "responding", "feed"),
                                  (two_dev, "delivered", "feed")]), got
    assert f"{one_dev} responding feed" in csv.text
    audited = [(r.actor, r.subjects["device"], r.details["kind"]) for r in _audit(live)
               if r.action == "alert.receipt" and r.subjects["alert"] == alert.id]
    assert sorted(audited) == sorted([("ofc", one_dev, "delivered"), ("ofc", one_dev, "opened"),
                                      ("ofc", one_dev, "responding"),
                                      (SECOND_OFFICER, two_dev, "delivered")]), audited
    assert live.call(gov.verify_audit()).ok
