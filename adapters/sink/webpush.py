"""The ``sink.webpush`` adapter: a Web Push wake-up to officers' devices (R6).

Each confirmed-alert notice becomes one push per subscribed device of the deployment,
encrypted for that device (RFC 8291, ``aes128gcm``) and signed with the server's VAPID key
(RFC 8292), sent through the device's push service (RFC 8030). Push services are third
parties, so the payload is ``{"alert_id": …, "seq": …}`` and nothing else: no image, name,
reference or category. The PWA's service worker wakes, then fetches the alert over the
authenticated API.

Outcomes per subscription: 2xx delivered; 404/410 the subscription is gone and is removed;
other 4xx refused for good (logged, skipped); 429, 5xx or a network error are transient. A
notice with transient failures raises :class:`DeliveryRetry`, carrying the longest
``Retry-After`` the push services sent (the dispatcher waits at least that long: a push
service throttling us with 429 is not hammered at our own backoff); the retry sends only to the
devices not yet served (so no device is woken twice for one notice by this process). After
``retry_window_s`` a device still failing is given up for that notice, so one dead push
service cannot hold every later alert back.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Annotated, Literal

import aiohttp
import msgspec
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush_async

from adapters.sink.retry_after import retry_after_seconds
from kernel.bounds import Count, Seconds
from kernel.delivery import vapid
from kernel.delivery.subscriptions import PushSubscriptions, Subscription
from kernel.protocols.adapter import AdapterContext
from kernel.protocols.sink import AlertNotice, DeliveryRetry


class _Outcome(Enum):
    SENT = "sent"
    GONE = "gone"
    REFUSED = "refused"
    TRANSIENT = "transient"


@dataclass
class _Attempt:
    """Progress of the notice being delivered, kept across DeliveryRetry calls."""

    seq: int
    started: float
    served: set[str] = field(default_factory=set)


_Result = tuple[Subscription, _Outcome, str, float | None]
"""One subscription's outcome, its detail for the log, and the push service's Retry-After."""


def push_payload(notice: AlertNotice) -> str:
    """The only plaintext a push service ever carries for an alert (encrypted, R6)."""
    return json.dumps({"alert_id": notice.alert_id, "seq": notice.seq}, separators=(",", ":"))


class WebPushSink:
    """Sends encrypted, VAPID-signed Web Push wake-ups (pywebpush on a shared aiohttp session).

    Subscriptions come from the context's ``push_subscriptions`` (the runtime hands every sink
    the store's) or a :class:`PushSubscriptions` source given to the constructor; delivering
    without one is an error, never a silent drop.
    """

    class Config(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
        """``sink.webpush`` settings.

        - ``subject``: the VAPID ``sub`` claim, a ``mailto:`` (or ``https:``) contact for the
          push services' operators.
        - ``ttl_s``: how long a push service may hold the wake-up for an offline device.
        - ``urgency``: RFC 8030 ``Urgency`` header; ``high`` so a dozing tablet wakes.
        - ``timeout_s``: per-request timeout. ``concurrency``: pushes in flight at once.
        - ``retry_window_s``: how long one notice keeps retrying a failing device.
        - ``keys_dir``: where the VAPID key lives (default ``<data_dir>/keys``).
        """

        subject: str
        ttl_s: Annotated[int, msgspec.Meta(ge=0, le=2_419_200)] = 300  # RFC 8030: 0 allowed
        urgency: Literal["very-low", "low", "normal", "high"] = "high"
        timeout_s: Seconds = 10.0
        concurrency: Count = 8
        retry_window_s: Seconds = 300.0
        keys_dir: str | None = None

    def __init__(
        self,
        config: WebPushSink.Config,
        context: AdapterContext,
        subscriptions: PushSubscriptions | None = None,
    ) -> None:
        if not config.subject.startswith(("mailto:", "https:")):
            raise ValueError("sink.webpush subject must be a mailto: or https: URI (RFC 8292)")
        if config.ttl_s < 0 or config.concurrency < 1:
            raise ValueError("sink.webpush ttl_s must be >= 0 and concurrency >= 1")
        self.config = config
        self._context = context
        self._log = context.log
        keys_dir = vapid.keys_dir(context.data_dir, config.keys_dir)
        # Made on first start, before any device can subscribe: the PWA needs the public key.
        self._keys = vapid.load_or_create(keys_dir)
        # py_vapid's RFC 8292 ("vapid t=…,k=…") signer, built once around our key.
        self._vapid = Vapid02(private_key=self._keys.private_key)
        # The store's, from the runtime (context); a test may hand its own.
        self._subscriptions = subscriptions or context.push_subscriptions
        self._session: aiohttp.ClientSession | None = None
        self._attempt: _Attempt | None = None

    @property
    def application_server_key(self) -> str:
        """The VAPID public key (base64url uncompressed point) for ``pushManager.subscribe``."""
        return self._keys.public_key_b64url

    async def deliver(self, notice: AlertNotice) -> None:
        """Wake every device subscribed to the notice's deployment."""
        if self._subscriptions is None:
            raise RuntimeError("sink.webpush has no subscription source bound")
        clock = self._context.clock
        attempt = self._attempt
        if attempt is None or attempt.seq != notice.seq:
            attempt = _Attempt(seq=notice.seq, started=clock.monotonic())
        todo = [s for s in await self._subscriptions.for_deployment(notice.deployment_id)
                if s.endpoint not in attempt.served]
        if not todo:
            self._attempt = None
            return
        data = push_payload(notice)
        session = self._session_for_loop()
        limit = asyncio.Semaphore(self.config.concurrency)

        async def one(sub: Subscription) -> _Result:
            async with limit:
                return await self._send(session, sub, data)

        results = await asyncio.gather(*(one(s) for s in todo))
        failing: list[str] = []
        waits: list[float] = []
        for sub, outcome, detail, wait in results:
            if outcome is _Outcome.TRANSIENT:
                failing.append(detail)
                if wait is not None:
                    waits.append(wait)
                continue
            attempt.served.add(sub.endpoint)
            if outcome is _Outcome.GONE:
                await self._subscriptions.remove(sub.endpoint)
                self._log.info("push subscription gone (%s); removed", detail)
            elif outcome is _Outcome.REFUSED:
                self._log.warning("push refused for notice %d (%s); device skipped",
                                  notice.seq, detail)
        if failing:
            if clock.monotonic() - attempt.started < self.config.retry_window_s:
                self._attempt = attempt
                raise DeliveryRetry(f"{len(failing)} push(es) failed: {failing[0]}",
                                    retry_after=max(waits) if waits else None)
            self._log.warning("notice %d: gave up on %d device(s) after %.0fs (%s)",
                              notice.seq, len(failing), self.config.retry_window_s, failing[0])
        self._attempt = None

    async def _send(
        self, session: aiohttp.ClientSession, sub: Subscription, data: str
    ) -> _Result:
        info: dict[str, str | bytes | dict[str, str | bytes]] = {
            "endpoint": sub.endpoint, "keys": {"p256dh": sub.p256dh, "auth": sub.auth}}
        try:
            await webpush_async(
                subscription_info=info,
                data=data,
                vapid_private_key=self._vapid,
                # A fresh dict: pywebpush writes aud and exp into it.
                vapid_claims={"sub": self.config.subject},
                ttl=self.config.ttl_s,
                timeout=self.config.timeout_s,
                headers={"Urgency": self.config.urgency},
                aiohttp_session=session,
            )
        except WebPushException as exc:
            status = exc.status_code
            if status is None:
                return sub, _Outcome.REFUSED, f"not sent: {exc.message}", None
            if status in (404, 410):
                return sub, _Outcome.GONE, f"HTTP {status}", None
            if status == 429 or status >= 500:
                wait = retry_after_seconds(exc.retry_after, self._context.clock.now())
                return sub, _Outcome.TRANSIENT, f"HTTP {status}", wait
            return sub, _Outcome.REFUSED, f"HTTP {status}", None
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return sub, _Outcome.TRANSIENT, f"{type(exc).__name__}: {exc}", None
        except (ValueError, TypeError) as exc:
            # Malformed keys in the subscription: sending again cannot help.
            return sub, _Outcome.REFUSED, f"bad subscription: {type(exc).__name__}", None
        return sub, _Outcome.SENT, "ok", None

    def _session_for_loop(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        """Close the HTTP session (idempotent)."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

