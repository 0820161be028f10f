"""Alert-sink seam: delivery of confirmed alerts to officers' devices (MQTT, Web Push, ...)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import msgspec


class DeliveryRetry(Exception):
    """Raised by a sink when delivery failed for a reason that may pass (broker down, 5xx).

    The outbox keeps the message and tries again later with backoff; nothing is lost.
    ``retry_after``: seconds the far side asked us to wait (an HTTP ``Retry-After``); the
    dispatcher waits at least that long (bounded by its policy) before the next attempt."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AlertNotice(msgspec.Struct, frozen=True):
    """What a sink may send about a confirmed alert: identifiers and non-personal facts only.

    No image, name, reference or template is ever here (R6): devices fetch those over the
    authenticated API with the alert id.
    """

    seq: int
    alert_id: str
    deployment_id: str
    category: str
    camera_id: str
    confirmed_at: str


@runtime_checkable
class AlertSink(Protocol):
    """Delivers notices of *confirmed* alerts.

    The kernel calls ``deliver`` only for alerts that the operator confirmed (R5), in outbox
    order, and only after the alert is committed to the store. Raise :class:`DeliveryRetry`
    to be called again later with the same notice; return normally once the notice is handed
    over (e.g. QoS-1 acknowledged). Delivery must be idempotent per ``seq``.
    """


    async def deliver(self, notice: AlertNotice) -> None:
        """Hand one notice to the transport."""
        ...

    async def close(self) -> None:
        """Disconnect and release resources."""
        ...
