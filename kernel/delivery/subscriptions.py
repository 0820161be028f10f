"""Web Push subscriptions of officers' devices: the seam between the API that records them
(the PWA posts its ``PushSubscription`` after login) and the Web Push sink that uses them."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import msgspec


class Subscription(msgspec.Struct, frozen=True, kw_only=True):
    """One browser's push subscription (``PushSubscription.toJSON()`` of the PWA).

    - ``endpoint``: the push service URL for this device (RFC 8030).
    - ``p256dh``: the device's P-256 public key, uncompressed point, base64url (RFC 8291).
    - ``auth``: the device's 16-byte authentication secret, base64url (RFC 8291).
    """

    endpoint: str
    p256dh: str
    auth: str


@runtime_checkable
class PushSubscriptions(Protocol):
    """Where the Web Push sink finds whom to wake for a deployment.

    The store/API implements it. ``remove`` is called when the push service answers 404 or
    410 (the subscription is gone for good, RFC 8030 §7.3); removing an unknown endpoint is
    not an error.
    """

    async def for_deployment(self, deployment_id: str) -> list[Subscription]: ...

    async def remove(self, endpoint: str) -> None: ...


class MemoryPushSubscriptions:
    """An in-memory :class:`PushSubscriptions` for tests and embedded single-process use.

    Nothing is persisted: devices must subscribe again after a restart. Production uses the
    store-backed implementation.
    """

    def __init__(self) -> None:
        self._by_deployment: dict[str, dict[str, Subscription]] = {}

    def add(self, deployment_id: str, subscription: Subscription) -> None:
        """Record (or replace, by endpoint) a device's subscription for a deployment."""
        self._by_deployment.setdefault(deployment_id, {})[subscription.endpoint] = subscription

    async def for_deployment(self, deployment_id: str) -> list[Subscription]:
        return list(self._by_deployment.get(deployment_id, {}).values())

    async def remove(self, endpoint: str) -> None:
        for subs in self._by_deployment.values():
            subs.pop(endpoint, None)
