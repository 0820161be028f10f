"""sink.webpush against a local push service on 127.0.0.1 that checks what a real one would:
the VAPID JWT (RFC 8292) and the aes128gcm body (RFC 8291), decrypted here with the keys of a
simulated browser (R6)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
import stat
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import http_ece
import pytest
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from adapters.sink.webpush import WebPushSink
from kernel.clock import Clock, ManualClock, SystemClock
from kernel.delivery import vapid
from kernel.delivery.dispatcher import Dispatcher, RetryPolicy
from kernel.delivery.subscriptions import MemoryPushSubscriptions, Subscription
from kernel.executor import BoundedExecutor
from kernel.protocols.adapter import AdapterContext
from kernel.protocols.sink import AlertNotice, AlertSink, DeliveryRetry

SUBJECT = "mailto:lfr-ops@force.example"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Device:
    """A browser's side of a subscription: its ECDH key and auth secret (RFC 8291)."""

    name: str
    endpoint: str
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def subscription(self) -> Subscription:
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        return Subscription(endpoint=self.endpoint, p256dh=b64url(point), auth=b64url(self.auth))


class PushService:
    """The push service: verifies VAPID, decrypts with the device's keys, records plaintext.

    ``script[name]`` is a list of statuses to answer, one per request (then 201)."""

    def __init__(self, vapid_public: str) -> None:
        self.vapid_public = vapid_public
        self.devices: dict[str, Device] = {}
        self.script: dict[str, list[int]] = {}
        self.received: dict[str, list[bytes]] = {}
        self.requests: dict[str, int] = {}
        self.errors: list[str] = []
        self.origin = ""

    def device(self, name: str) -> Device:
        d = Device(name, f"{self.origin}/push/{name}")
        self.devices[name] = d
        return d

    def check_vapid(self, header: str) -> None:
        scheme, _, params = header.partition(" ")
        assert scheme == "vapid", header
        fields = dict(p.strip().split("=", 1) for p in params.split(","))
        assert fields["k"] == self.vapid_public  # the key the PWA subscribed with
        head_b64, claims_b64, sig_b64 = fields["t"].split(".")
        head = json.loads(unb64url(head_b64))
        assert head["alg"] == "ES256"
        public = ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), unb64url(fields["k"]))
        raw = unb64url(sig_b64)
        assert len(raw) == 64
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"),
                                   int.from_bytes(raw[32:], "big"))
        try:
            public.verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise AssertionError("VAPID JWT signature does not verify") from None
        claims = json.loads(unb64url(claims_b64))
        assert claims["aud"] == self.origin
        assert time.time() < claims["exp"] <= time.time() + 24 * 3600
        assert claims["sub"] == SUBJECT

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.requests[name] = self.requests.get(name, 0) + 1
        try:
            self.check_vapid(request.headers["Authorization"])
            assert request.headers["Content-Encoding"] == "aes128gcm"
            assert int(request.headers["TTL"]) == 300
            assert request.headers["Urgency"] == "high"
        except (AssertionError, KeyError, ValueError) as exc:
            self.errors.append(f"{name}: {exc!r}")
            return web.Response(status=401)
        body = await request.read()
        script = self.script.get(name, [])
        status = script.pop(0) if script else 201
        if status == 201:
            device = self.devices[name]
            plain = http_ece.decrypt(body, private_key=device.key, auth_secret=device.auth,
                                     version="aes128gcm")
            self.received.setdefault(name, []).append(plain)
        return web.Response(status=status)


@pytest.fixture
async def push_service() -> AsyncIterator[PushService]:
    service = PushService("")
    app = web.Application()
    app.router.add_post("/push/{name}", service.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    service.origin = f"http://127.0.0.1:{port}"
    try:
        yield service
    finally:
        await runner.cleanup()


def make_sink(data_dir: Path, subs: MemoryPushSubscriptions, clock: Clock | None = None,
              ) -> tuple[WebPushSink, BoundedExecutor]:
    executor = BoundedExecutor(1, 1)
    context = AdapterContext(name="webpush", data_dir=data_dir, executor=executor,
                             clock=clock or SystemClock(), log=logging.getLogger("test.webpush"))
    config = WebPushSink.Config(subject=SUBJECT, timeout_s=5.0, retry_window_s=60.0)
    return WebPushSink(config, context, subs), executor


def notice(seq: int) -> AlertNotice:
    return AlertNotice(seq=seq, alert_id=f"alert-{seq:04d}", deployment_id="dep-1",
                       category="wanted", camera_id="gate-1",
                       confirmed_at="2026-01-01T00:00:00+00:00")


async def test_push_carries_alert_id_only(  # R6
    push_service: PushService, sqlite_outbox: Any, tmp_path: Path
) -> None:
    """Through the dispatcher from a real outbox: each device gets one encrypted push whose
    plaintext is exactly {"alert_id", "seq"}: no image, name, reference, category, camera."""
    service = push_service
    subs = MemoryPushSubscriptions()
    sink, executor = make_sink(tmp_path, subs)
    assert isinstance(sink, AlertSink)
    service.vapid_public = sink.application_server_key
    for name in ("tablet-a", "tablet-b"):
        subs.add("dep-1", service.device(name).subscription())
    subs.add("dep-other", service.device("tablet-elsewhere").subscription())
    dispatcher = Dispatcher(sqlite_outbox, {"webpush": sink},
                            RetryPolicy(initial=0.01, maximum=0.05))
    seqs = await sqlite_outbox.confirm(2)
    task = asyncio.create_task(dispatcher.run_sink("webpush"))
    try:
        dispatcher.notify()
        async with asyncio.timeout(10):
            while dispatcher.progress["webpush"].last_seq < seqs[-1]:
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await sink.close()
        executor.shutdown()
    assert service.errors == []
    assert await sqlite_outbox.position("webpush") == seqs[-1]
    for name in ("tablet-a", "tablet-b"):
        payloads = [json.loads(p) for p in service.received[name]]
        assert payloads == [{"alert_id": f"alert-{i:04d}", "seq": s}
                            for i, s in zip((1, 2), seqs, strict=True)]
        assert all(len(p) < 64 for p in service.received[name])
    assert "tablet-elsewhere" not in service.received  # another deployment's device


async def test_gone_subscription_is_removed_and_others_served(  # R6
    push_service: PushService, tmp_path: Path
) -> None:
    """410 and 404 remove the subscription; a device refused for good (403) is skipped;
    none of them stops the healthy device from being woken."""
    service = push_service
    subs = MemoryPushSubscriptions()
    sink, executor = make_sink(tmp_path, subs)
    service.vapid_public = sink.application_server_key
    for name in ("gone-410", "gone-404", "refused-403", "healthy"):
        subs.add("dep-1", service.device(name).subscription())
    service.script = {"gone-410": [410], "gone-404": [404], "refused-403": [403]}
    try:
        await sink.deliver(notice(1))
    finally:
        await sink.close()
        executor.shutdown()
    remaining = {s.endpoint.rsplit("/", 1)[1] for s in await subs.for_deployment("dep-1")}
    assert remaining == {"refused-403", "healthy"}
    assert [json.loads(p) for p in service.received["healthy"]] == [
        {"alert_id": "alert-0001", "seq": 1}]


async def test_transient_failure_retries_without_waking_twice(  # R6
    push_service: PushService, tmp_path: Path
) -> None:
    """503 → DeliveryRetry; the retry goes only to the device that failed, then succeeds."""
    service = push_service
    subs = MemoryPushSubscriptions()
    sink, executor = make_sink(tmp_path, subs)
    service.vapid_public = sink.application_server_key
    for name in ("flaky", "healthy"):
        subs.add("dep-1", service.device(name).subscription())
    service.script = {"flaky": [503, 429]}
    try:
        for _ in range(2):
            with pytest.raises(DeliveryRetry):
                await sink.deliver(notice(7))
        await sink.deliver(notice(7))
    finally:
        await sink.close()
        executor.shutdown()
    assert service.requests == {"flaky": 3, "healthy": 1}
    assert len(service.received["flaky"]) == 1 and len(service.received["healthy"]) == 1


async def test_push_service_down_then_gives_up_after_window(tmp_path: Path) -> None:  # R6
    """A push service that is unreachable: DeliveryRetry until the retry window has passed,
    then the notice is let go so later alerts are not held back."""
    clock = ManualClock()
    subs = MemoryPushSubscriptions()
    sink, executor = make_sink(tmp_path, subs, clock)
    subs.add("dep-1", Device("x", "http://127.0.0.1:9/push/x").subscription())  # discard port
    try:
        with pytest.raises(DeliveryRetry):
            await sink.deliver(notice(1))
        clock.advance(timedelta(seconds=61))
        await sink.deliver(notice(1))  # gave up: returns
        with pytest.raises(DeliveryRetry):  # a new notice starts its own window
            await sink.deliver(notice(2))
    finally:
        await sink.close()
        executor.shutdown()


def test_vapid_key_made_once_and_private(tmp_path: Path) -> None:  # R6 R23
    """Generated on first start, 0600, reused afterwards; public key published beside it."""
    keys = vapid.load_or_create(tmp_path / "keys")
    mode = stat.S_IMODE((tmp_path / "keys" / vapid.PRIVATE_FILE).stat().st_mode)
    assert mode == 0o600
    again = vapid.load_or_create(tmp_path / "keys")
    assert again.public_key_b64url == keys.public_key_b64url
    assert len(unb64url(keys.public_key_b64url)) == 65
    published = (tmp_path / "keys" / vapid.PUBLIC_FILE).read_text().strip()
    assert published == keys.public_key_b64url
    forced = vapid.load_or_create(tmp_path / "keys", force=True)
    assert forced.public_key_b64url != keys.public_key_b64url
    assert stat.S_IMODE(forced.private_path.stat().st_mode) == 0o600
