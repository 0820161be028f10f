"""Issue 14, done-when 1: in real Chromium the officer app receives a confirmed alert over
MQTT over secure WebSockets (``wss://``) from a real Mosquitto, with the live feed (SSE) not
used at all; when the broker stops it falls back to the live feed and says so, and receives
the next alert there; when the broker is back it switches back. What a separate subscriber
reads off the broker carries no image, name or reference (R6).

TLS as on a site: ``pinchpoint tls init``'s own code (:func:`kernel.tls.init_tls`) makes the
local CA and the server certificate Mosquitto's WebSockets listener presents. This Chromium
trusts exactly that certificate and nothing more: ``--ignore-certificate-errors-spki-list``
with the SHA-256 of its public key (Chromium honours the flag only with a ``--user-data-dir``,
which Playwright's ``launch`` always passes, its temporary profile; a certificate with another
key is still refused, ERR_CERT_AUTHORITY_INVALID, tried by hand). Not the global
``ignore_https_errors``, which would hide a wrong certificate too.

The page itself is served over plain http on 127.0.0.1 (the test API has no TLS here):
mixed-content rules block ``ws://`` from an https page but allow ``wss://`` from an http one,
so this is the stricter half of a site's https page with wss MQTT; what is checked is the
socket's scheme, and that no ``ws://`` socket was opened."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest

from adapters.sink.mqtt import PAYLOAD_KEYS
from kernel.tls import TlsFiles, init_tls
from tests.mosquitto_dynsec import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    SERVER_PASSWORD,
    SERVER_USER,
    DynsecBroker,
    spki_sha256,
    started_broker,
)
from tests.pwa.conftest import CspWatchedBrowser, launched_chromium
from tests.pwa.live_runtime import PASSWORD, WATCH_REFERENCE, LiveRuntime

TABLET = {"width": 1280, "height": 800}
VIA_MQTT = "Alerts via MQTT"
VIA_FEED = "Alerts via live feed (broker unreachable)"
OBSERVER, OBSERVER_PASSWORD = "observer", "observer-secret-1"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """What ``pinchpoint tls init`` makes: a local CA and a server certificate for
    localhost and 127.0.0.1."""
    return init_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory, tls: TlsFiles) -> Iterator[DynsecBroker]:
    yield from started_broker(tmp_path_factory, tls)


@pytest.fixture(scope="module")
def browser(tls: TlsFiles) -> Iterator[CspWatchedBrowser]:
    """Chromium trusting the broker's server certificate alone (by its key's hash)."""
    yield from launched_chromium(
        [f"--ignore-certificate-errors-spki-list={spki_sha256(tls.server_cert)}"])


@pytest.fixture(scope="module")
def live_mqtt(models_dir: Path, broker: DynsecBroker,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveRuntime]:
    service = (f'mqtt = {{ws_url = "{broker.ws_url}", accounts = {{port = {broker.port}, '
               f'username = "{ADMIN_USER}", password = "{ADMIN_PASSWORD}"}}}}')
    extra = f"""
[[sinks]]
type = "mqtt"
port = {broker.port}
username = "{SERVER_USER}"
password = "{SERVER_PASSWORD}"
timeout_s = 1.0
"""
    runtime = LiveRuntime(tmp_path_factory.mktemp("pwa-mqtt"), models_dir, service, extra)
    try:
        yield runtime
    finally:
        runtime.close()


class Observer:
    """A separate subscriber to the deployment's topic: what the broker carries."""

    def __init__(self, broker: DynsecBroker, topic: str) -> None:
        for args in (["createRole", OBSERVER], ["addRoleACL", OBSERVER, "subscribeLiteral",
                                                 topic, "allow"],
                     ["createClient", OBSERVER, "-p", OBSERVER_PASSWORD],
                     ["addClientRole", OBSERVER, OBSERVER]):
            broker.ctrl(*args)
        self.payloads: list[bytes] = []
        self.arrived = threading.Condition()
        self.subscribed = threading.Event()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=OBSERVER,
                                  clean_session=False)
        self.client.username_pw_set(OBSERVER, OBSERVER_PASSWORD)
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = self._message
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        assert self.subscribed.wait(20), "the observer could not subscribe"

    def _message(self, _c: Any, _u: Any, message: Any) -> None:
        with self.arrived:
            self.payloads.append(bytes(message.payload))
            self.arrived.notify_all()

    def wait_for(self, ids: set[str], timeout: float) -> None:
        with self.arrived:
            assert self.arrived.wait_for(lambda: _ids(self.payloads) >= ids, timeout), \
                f"not on the broker: {ids - _ids(self.payloads)} of {ids}"

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def confirm_next(live: LiveRuntime, done: set[str], newest: bool = False) -> str:
    """Confirm the next candidate the live pipeline raises from the clip (``newest``: the
    one captured last of those waiting). (Playwright's sync API runs a loop in this thread,
    so the wait runs on the runtime's loop.)"""
    gov = live.runtime.governance
    assert gov is not None
    found: list[str] = []

    async def candidate() -> None:
        async def fresh() -> list[str]:
            alerts = await gov.alerts.list_for(live.deployment)
            # a seen-again sighting updates its alert's card instead of making one (issue 15)
            waiting = [a for a in alerts if a.state == "candidate" and a.id not in done
                       and not a.seen_again]
            if newest:
                waiting.sort(key=lambda a: a.captured_at, reverse=True)
            return [a.id for a in waiting]

        async with asyncio.timeout(90):
            while not (ids := await fresh()):
                await asyncio.sleep(0.2)  # a poll of the store, bounded by the timeout
        found.append(ids[0])
        await gov.alerts.confirm(ids[0], "op")

    live.call(candidate(), timeout=100)
    done.add(found[0])
    return found[0]


def wait_status(page: Any, text: str) -> None:
    page.wait_for_function("(t) => document.getElementById('status').textContent === t",
                           arg=text, timeout=60_000)


def test_issue14_officer_gets_alerts_over_mqtt_wss_and_falls_back_to_the_live_feed(
        live_mqtt: LiveRuntime, broker: DynsecBroker, browser: Any) -> None:
    live = live_mqtt
    assert broker.ws_url.startswith("wss://")
    observer = Observer(broker, f"pinchpoint/{live.deployment}/alerts")
    context = browser.new_context(viewport=TABLET)
    try:
        page = context.new_page()
        requests: list[str] = []
        sockets: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.on("websocket", lambda ws: sockets.append(ws.url))
        page.goto(f"{live.url}/")
        page.fill("#login-name", "ofc")
        page.fill("#login-password", PASSWORD)
        page.click("button[type=submit]")
        wait_status(page, VIA_MQTT)
        done: set[str] = set()

        first = confirm_next(live, done)
        page.wait_for_selector(f"li[data-id='{first}'] img", timeout=30_000)
        assert page.evaluate("document.documentElement.dataset.alarms") == "1"  # it sounded
        feed_calls = [u for u in requests if "/api/feed" in u]
        assert not feed_calls, f"the live feed was used while MQTT was up: {feed_calls}"
        assert sockets and all(u == broker.ws_url for u in sockets), sockets
        assert page.locator(f"li[data-id='{first}']").count() == 1

        # the broker goes away: the feed takes over, and the screen says so
        broker.stop()
        wait_status(page, VIA_FEED)
        second = confirm_next(live, done)
        page.wait_for_selector(f"li[data-id='{second}'] img", timeout=30_000)
        assert [u for u in requests if "/api/feed" in u], "the fallback never opened the feed"

        # the broker is back: MQTT again, and the notice it had queued shows no second card
        broker.start()
        wait_status(page, VIA_MQTT)
        observer.wait_for({first, second}, 60)
        assert page.locator(f"li[data-id='{second}']").count() == 1
        assert all(u.startswith("wss://") for u in sockets), sockets

        cached = page.evaluate("""async () => { const out = [];
            for (const key of await caches.keys()) {
              for (const req of await (await caches.open(key)).keys()) {
                out.push(new URL(req.url).pathname);
              }
            }
            return out; }""")
        assert not [p for p in cached if p.startswith("/vendor/")], cached
    finally:
        context.close()
        observer.close()

    # R6: what went over the broker is ids and signed links, never images, names, references
    assert observer.payloads
    for raw in observer.payloads:
        assert set(json.loads(raw)) <= PAYLOAD_KEYS, raw
        for forbidden in (WATCH_REFERENCE.encode(), b"obama", b"Obama", b"\xff\xd8\xff",
                          b"/9j/", b"data:image", b"base64"):
            assert forbidden not in raw, (forbidden, raw)
        assert len(raw) < 1024, len(raw)


def audit_actions(live: LiveRuntime, prefix: str) -> list[tuple[str, str]]:
    gov = live.runtime.governance
    assert gov is not None

    async def read() -> list[tuple[str, str]]:
        async with gov.store.transaction() as tx:
            rows = await tx.audit.page(0, 100_000)
        return [(r.action, r.actor) for r in rows if r.action.startswith(prefix)]

    return live.call(read())


def test_issue14_r19_muted_alarm_is_silent_audited_and_the_card_says_where_and_when(
        live_mqtt: LiveRuntime, browser: Any) -> None:
    """The officer mutes the alarm with the toggle on the alerts screen: the mute is audited
    (R19), a confirmed alert then still shows, silently; unmuting is audited too. The card
    says "Seen at camera gate-1, N seconds ago", kept current while shown, and its three
    images are each at least 300 px wide on a 1280×800 tablet and span the card."""
    live = live_mqtt
    context = browser.new_context(viewport=TABLET)
    try:
        page = context.new_page()
        page.goto(f"{live.url}/")
        page.fill("#login-name", "ofc")
        page.fill("#login-password", PASSWORD)
        page.click("button[type=submit]")
        toggle = page.locator("#alarm-mute")
        toggle.wait_for(timeout=30_000)
        assert toggle.get_attribute("aria-pressed") == "false"
        assert toggle.is_visible() and "mute" in toggle.inner_text()
        muted_before = audit_actions(live, "device.alarm_")
        toggle.click()
        page.wait_for_selector("#alarm-mute[aria-pressed='true']", timeout=10_000)
        assert "muted" in toggle.inner_text().lower()
        assert audit_actions(live, "device.alarm_")[len(muted_before):] == [
            ("device.alarm_muted", "ofc")]

        # the path settled first: an alert that arrives while the app switches paths is
        # listed by the refetch instead (no "new" card, no alarm to silence)
        wait_status(page, VIA_MQTT)
        alert = confirm_next(live, set(page.eval_on_selector_all(
            "li[data-id]", "els => els.map((e) => e.dataset.id)")), newest=True)
        card = f"li[data-id='{alert}']"
        page.wait_for_selector(f"{card} a.card img", timeout=30_000)
        page.wait_for_function("() => document.documentElement.dataset.silenced === '1'",
                               timeout=10_000)
        assert page.evaluate("document.documentElement.dataset.alarms") is None
        assert "New confirmed alert" in page.inner_text(".banner")

        seen = page.locator(f"{card} .seen")
        first_text = seen.inner_text()
        assert re.fullmatch(r"Seen at camera gate-1, \d+ seconds? ago", first_text), first_text
        page.wait_for_function("([sel, before]) => document.querySelector(sel).textContent "
                               "!== before", arg=[f"{card} .seen", first_text], timeout=5_000)
        assert re.fullmatch(r"Seen at camera gate-1, \d+ seconds? ago", seen.inner_text())

        boxes = [page.locator(f"{card} figure.shot").nth(i).bounding_box() for i in range(3)]
        whole = page.locator(f"{card} a.card").bounding_box()
        assert all(b is not None and b["width"] >= 300 for b in boxes), boxes
        assert whole is not None and boxes[0] is not None and boxes[2] is not None
        span = boxes[2]["x"] + boxes[2]["width"] - boxes[0]["x"]
        assert span >= 0.9 * whole["width"], (span, whole)

        toggle.click()
        page.wait_for_selector("#alarm-mute[aria-pressed='false']", timeout=10_000)
        assert audit_actions(live, "device.alarm_")[len(muted_before):] == [
            ("device.alarm_muted", "ofc"), ("device.alarm_unmuted", "ofc")]
    finally:
        context.close()


def _ids(payloads: list[bytes]) -> set[str]:
    return {json.loads(p)["alert_id"] for p in payloads}


def test_issue14_missing_mqtt_bundle_says_so_and_uses_the_live_feed(
        live_mqtt: LiveRuntime, browser: Any) -> None:
    """A build without the vendored MQTT.js (scripts/vendor_pwa.sh not run): the officer's
    status line says the client is missing, and alerts come over the live feed."""
    context = browser.new_context(viewport=TABLET)
    try:
        page = context.new_page()
        page.route("**/vendor/mqtt/mqtt.esm.js", lambda route: route.fulfill(status=404))
        feed: list[str] = []
        page.on("request", lambda r: feed.append(r.url) if "/api/feed" in r.url else None)
        page.goto(f"{live_mqtt.url}/")
        page.fill("#login-name", "ofc")
        page.fill("#login-password", PASSWORD)
        page.click("button[type=submit]")
        wait_status(page, "Alerts via live feed (MQTT client not installed)")
        assert feed, "no live feed opened without the MQTT client"
    finally:
        context.close()
