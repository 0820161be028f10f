"""The ``sink.mqtt`` adapter: confirmed-alert notices to officers' devices over MQTT (R6).

The server publishes one JSON message per notice, QoS 1, to
``pinchpoint/<deployment_id>/alerts`` on the closed network's broker; the PWA subscribes over
WebSockets (TLS, per-device credentials; see ``deploy/mosquitto``). The message holds the alert
id, category, camera, confirmation time, ``seq`` and short-lived signed links to the three
images (:mod:`kernel.delivery.signed_urls`); never image bytes, names or references: devices
fetch those over the authenticated API (R6, R24).

One connection stays open and is re-made on demand. ``deliver`` returns only once the broker
acknowledged the message (PUBACK); a broker that is down or silent raises
:class:`DeliveryRetry`, so the outbox keeps the notice and the dispatcher tries again.
Delivery is at least once: a device drops a repeated ``seq``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from pathlib import Path
from typing import Any, Literal

import aiomqtt
import msgspec

from kernel.adapter_kit.redaction import config_repr, config_rich_repr
from kernel.bounds import Port, Seconds, WholeSeconds
from kernel.delivery import signed_urls
from kernel.protocols.adapter import AdapterContext
from kernel.protocols.sink import AlertNotice, DeliveryRetry

#: The keys a message may carry; tests assert nothing else is there.
PAYLOAD_KEYS = frozenset(
    {"v", "seq", "alert_id", "category", "camera_id", "confirmed_at", "images"}
)


class MqttSink:
    """Publishes alert notices to an MQTT broker (aiomqtt, QoS 1, PUBACK awaited)."""

    class Config(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
        """``sink.mqtt`` settings.

        - ``host``/``port``: the broker; ``transport`` ``"websockets"`` uses
          ``websocket_path``.
        - ``username``/``password``: the server's broker account (it may only publish);
          ``password_file`` (relative to the data directory) instead keeps the secret out
          of the config file.
        - ``tls``: connect with TLS; ``ca_file`` (relative to the data directory) is then the
          only trust root (the local CA from ``pinchpoint tls init``); without it the system
          roots are used. Setting ``ca_file`` implies ``tls``.
        - ``topic``: template with ``{deployment_id}``.
        - ``qos``: 1 (at least once) or 2.
        - ``client_id``: the server's MQTT client id.
        - ``url_base``: prefix of image links (e.g. ``https://10.8.0.1:8443``); empty gives
          root-relative links. ``url_ttl_s``: how long a link works.
        - ``image_kinds``: the images linked, as named by the API route.
        - ``keys_dir``: where the URL-signing secret lives (default ``<data_dir>/keys``).
        - ``timeout_s``: connect and PUBACK timeout; ``keepalive_s``: MQTT keepalive.
        """

        host: str = "127.0.0.1"
        port: Port = 1883
        transport: Literal["tcp", "websockets"] = "tcp"
        websocket_path: str = "/mqtt"
        username: str | None = None
        password: str | None = None
        password_file: str | None = None
        tls: bool = False
        ca_file: str | None = None
        topic: str = "pinchpoint/{deployment_id}/alerts"
        qos: Literal[1, 2] = 1
        client_id: str = "pinchpoint-server"
        url_base: str = ""
        url_ttl_s: Seconds = 300.0
        image_kinds: tuple[str, ...] = ("face", "torso", "watchlist")
        keys_dir: str | None = None
        timeout_s: Seconds = 5.0
        keepalive_s: WholeSeconds = 30

        def __repr__(self) -> str:
            # str(), f-strings, logging and tracebacks all show this: never the password.
            return config_repr(self, frozenset({"password"}))

        def __rich_repr__(self) -> list[tuple[str, Any]]:
            return config_rich_repr(self, frozenset({"password"}))

    def __init__(self, config: MqttSink.Config, context: AdapterContext) -> None:
        if "{deployment_id}" not in config.topic:
            raise ValueError("sink.mqtt topic must contain {deployment_id}")
        if config.url_ttl_s <= 0:
            raise ValueError("sink.mqtt url_ttl_s must be positive")
        self.config = config
        self._context = context
        self._log = context.log
        data_dir = context.data_dir
        keys_dir = _under(data_dir, config.keys_dir) if config.keys_dir else data_dir / "keys"
        # Start-up file reads, once: the event loop is not serving anything yet.
        self._secret = signed_urls.load_or_create_secret(keys_dir)
        self._password = config.password
        if config.password_file:
            self._password = _under(data_dir, config.password_file).read_text().strip()
        self._tls_context: ssl.SSLContext | None = None
        if config.tls or config.ca_file:
            cafile = str(_under(data_dir, config.ca_file)) if config.ca_file else None
            self._tls_context = ssl.create_default_context(cafile=cafile)
        self._client: aiomqtt.Client | None = None
        self._lock = asyncio.Lock()

    def payload(self, notice: AlertNotice) -> bytes:
        """The message for ``notice``: identifiers, facts and signed image links only."""
        now = self._context.clock.now()
        images = {}
        for kind in self.config.image_kinds:
            path = f"/api/alerts/{notice.alert_id}/images/{kind}"
            images[kind] = self.config.url_base + signed_urls.sign(
                path, self.config.url_ttl_s, self._secret, now
            )
        body = {
            "v": 1,
            "seq": notice.seq,
            "alert_id": notice.alert_id,
            "category": notice.category,
            "camera_id": notice.camera_id,
            "confirmed_at": notice.confirmed_at,
            "images": images,
        }
        return json.dumps(body, separators=(",", ":")).encode()

    def topic(self, notice: AlertNotice) -> str:
        return self.config.topic.format(deployment_id=notice.deployment_id)

    async def deliver(self, notice: AlertNotice) -> None:
        """Publish ``notice`` and wait for the broker's acknowledgement."""
        payload = self.payload(notice)
        topic = self.topic(notice)
        # One publish at a time: the dispatcher is sequential anyway, and a reconnect must
        # not race a publish on the connection it is replacing.
        async with self._lock:
            client = await self._connected()
            try:
                await client.publish(topic, payload, qos=self.config.qos,
                                     timeout=self.config.timeout_s)
            except aiomqtt.MqttError as exc:
                await self._drop()
                raise DeliveryRetry(f"MQTT publish failed: {exc}") from None

    async def _connected(self) -> aiomqtt.Client:
        if self._client is not None:
            return self._client
        cfg = self.config
        client = aiomqtt.Client(
            cfg.host,
            cfg.port,
            username=cfg.username,
            password=self._password,
            identifier=cfg.client_id,
            # A fresh session per connection: paho must not replay a message that the
            # dispatcher already counts as unacknowledged and will offer again itself.
            clean_session=True,
            transport=cfg.transport,
            websocket_path=cfg.websocket_path if cfg.transport == "websockets" else None,
            tls_context=self._tls_context,
            timeout=cfg.timeout_s,
            keepalive=cfg.keepalive_s,
        )
        try:
            await client.__aenter__()
        except aiomqtt.MqttError as exc:
            raise DeliveryRetry(f"MQTT broker {cfg.host}:{cfg.port} unreachable: {exc}"
                                ) from None
        self._log.info("connected to MQTT broker %s:%d (%s)", cfg.host, cfg.port, cfg.transport)
        self._client = client
        return client

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        # The connection is already broken or suspect; a failed goodbye changes nothing.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.__aexit__(None, None, None), self.config.timeout_s)

    async def close(self) -> None:
        """Disconnect cleanly (idempotent)."""
        async with self._lock:
            await self._drop()


def _under(base: Path, path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else base / p
