"""Delivery of confirmed alerts to officers (R5, R6): the outbox dispatcher, signed image
URLs, and the Web Push subscription seam. Transports (MQTT, Web Push) are ``sink`` adapters
in :mod:`adapters.sink`; nothing here imports them."""

from kernel.delivery.dispatcher import (
    Deliverer,
    Dispatcher,
    Outbox,
    RetryPolicy,
    SinkProgress,
    SinkState,
)
from kernel.delivery.subscriptions import MemoryPushSubscriptions, PushSubscriptions, Subscription

__all__ = [
    "Deliverer",
    "Dispatcher",
    "MemoryPushSubscriptions",
    "Outbox",
    "PushSubscriptions",
    "RetryPolicy",
    "SinkProgress",
    "SinkState",
    "Subscription",
]
