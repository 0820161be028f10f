"""A local push service on 127.0.0.1 that checks what a real one would: the VAPID JWT
(RFC 8292) and the aes128gcm body (RFC 8291), decrypted with the keys of a simulated browser
(R6). Shared by the sink tests and the fault-injection suite (``tests/faults/``), which
script its answers (5xx, 429 with ``Retry-After``) or stop it (connection refused)."""

from __future__ import annotations

import base64
import json
import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import http_ece
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from adapters.sink.webpush import WebPushSink
from kernel.clock import Clock, SystemClock
from kernel.delivery.subscriptions import MemoryPushSubscriptions, Subscription
from kernel.executor import BoundedExecutor
from kernel.protocols.adapter import AdapterContext

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

    ``script[name]`` is a list of answers, one per request (then 201): a status, or a status
    with response headers (``(429, {"Retry-After": "2"})``). ``times[name]`` holds each
    request's ``time.monotonic()`` (to measure the sender's pacing)."""

    def __init__(self, vapid_public: str) -> None:
        self.vapid_public = vapid_public
        self.devices: dict[str, Device] = {}
        self.script: dict[str, list[int | tuple[int, dict[str, str]]]] = {}
        self.times: dict[str, list[float]] = {}
        self.outage: int | None = None
        """While set, every request is answered with this status (a push service in trouble)."""
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
        self.times.setdefault(name, []).append(time.monotonic())
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
        answer = self.outage or (script.pop(0) if script else 201)
        status, headers = answer if isinstance(answer, tuple) else (answer, {})
        if status == 201:
            device = self.devices[name]
            plain = http_ece.decrypt(body, private_key=device.key, auth_secret=device.auth,
                                     version="aes128gcm")
            self.received.setdefault(name, []).append(plain)
        return web.Response(status=status, headers=headers)


@asynccontextmanager
async def serving(service: PushService, port: int = 0) -> AsyncIterator[int]:
    """Serve ``service`` on 127.0.0.1 (``port`` 0: a free one) until the block ends; yields the
    port. Leaving the block closes the listener: the sender then gets connection refused."""
    app = web.Application()
    app.router.add_post("/push/{name}", service.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    server = site._server
    assert server is not None
    bound: int = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    if not service.origin:
        service.origin = f"http://127.0.0.1:{bound}"
    try:
        yield bound
    finally:
        await runner.cleanup()


def make_sink(data_dir: Path, subs: MemoryPushSubscriptions, clock: Clock | None = None,
              ) -> tuple[WebPushSink, BoundedExecutor]:
    """A Web Push sink outside any runtime (keys under ``data_dir``); shut the executor down
    after closing the sink."""
    executor = BoundedExecutor(1, 1)
    context = AdapterContext(name="webpush", data_dir=data_dir, executor=executor,
                             clock=clock or SystemClock(), log=logging.getLogger("test.webpush"))
    config = WebPushSink.Config(subject=SUBJECT, timeout_s=5.0, retry_window_s=60.0)
    return WebPushSink(config, context, subs), executor
