"""The outbox dispatcher: moves confirmed-alert notices from the outbox to each sink (R5, R6).

One loop per sink, each run as a supervised task. A loop reads the notices its sink has not
acknowledged, in ``seq`` order, hands them to ``sink.deliver`` one at a time and acknowledges
each after the sink returned. When the sink raises :class:`DeliveryRetry` the loop waits
(capped exponential backoff) and offers the *same* notice again: order is kept, nothing is
skipped, nothing is lost. A notice is acknowledged only after delivery, so a crash or a
cancellation between the two re-delivers it (at least once; sinks are idempotent per ``seq``).

The dispatcher never invents a notice: it sends only what the outbox holds, and the outbox
holds only confirmed alerts committed by the domain (persist before announce). After a
confirmation commits, the domain publishes :class:`~kernel.domain.events.AlertDecided`, and the
runtime's subscriber calls :meth:`Dispatcher.notify`, so delivery starts at once; a slow safety
poll covers a missed wake-up (another process wrote the outbox while nothing here follows it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from enum import StrEnum
from typing import Protocol, runtime_checkable

import msgspec

from kernel import crashpoints
from kernel.protocols.sink import AlertNotice, DeliveryRetry
from kernel.supervisor import Backoff, Supervisor

log = logging.getLogger("pinchpoint.delivery")


@runtime_checkable
class Outbox(Protocol):
    """Where confirmed-alert notices wait for each sink, in ``seq`` order.

    ``pending`` returns up to ``limit`` notices after the sink's last acknowledged ``seq``,
    ascending. ``ack`` records that ``sink`` has ``seq`` (and so everything before it);
    acknowledging must be durable before it returns and must never move a position back.
    :class:`kernel.delivery.store_outbox.StoreOutbox` implements it on a
    :class:`kernel.protocols.store.Store`.
    """

    async def pending(self, sink: str, limit: int) -> list[AlertNotice]: ...

    async def ack(self, sink: str, seq: int) -> None: ...


class Deliverer(Protocol):
    """What the dispatcher needs of a sink: :meth:`kernel.protocols.sink.AlertSink.deliver`."""

    async def deliver(self, notice: AlertNotice) -> None: ...


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How the dispatcher paces itself.

    - ``initial``/``maximum``: backoff after :class:`DeliveryRetry`, doubling, in seconds.
    - ``poll``: the safety poll when nobody calls :meth:`Dispatcher.notify`, in seconds.
    - ``batch``: notices read from the outbox per round trip.
    - ``retry_after_max``: the longest wait a sink's ``retry_after`` (a push service's
      ``Retry-After``) may impose, in seconds: honoured up to there, so a hostile or broken
      header cannot stall delivery for a day.
    """

    initial: float = 0.5
    maximum: float = 30.0
    poll: float = 30.0
    batch: int = 100
    retry_after_max: float = 300.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """The wait before retry number ``attempt`` (1-based): the backoff, or longer when
        the far side asked for more (``retry_after``, bounded by ``retry_after_max``)."""
        backoff = float(min(self.maximum, self.initial * (2 ** max(0, attempt - 1))))
        if retry_after is None or not retry_after > 0:
            return backoff
        return max(backoff, min(float(retry_after), self.retry_after_max))


class SinkState(StrEnum):
    IDLE = "idle"
    DELIVERING = "delivering"
    RETRYING = "retrying"
    STOPPED = "stopped"


class SinkProgress(msgspec.Struct):
    """What the health view shows about one sink's delivery: never any notice content.

    While a sink cannot deliver, ``state`` is ``retrying`` and ``last_error`` names why (the
    broker unreachable, the push service's HTTP status); the first delivery after the outage
    clears ``last_error``."""

    sink: str
    state: SinkState = SinkState.IDLE
    delivered: int = 0
    retries: int = 0
    last_seq: int = 0
    last_error: str | None = None
    next_delay: float = 0.0


class Dispatcher:
    """Delivers outbox notices to named sinks, one independent loop per sink.

    The dispatcher neither builds nor closes sinks: whoever built them (the runtime) owns
    them. A sink that keeps failing holds up only its own loop.
    """

    def __init__(
        self,
        outbox: Outbox,
        sinks: Mapping[str, Deliverer],
        policy: RetryPolicy | None = None,
    ) -> None:
        self._outbox = outbox
        self._sinks = dict(sinks)
        self._policy = policy or RetryPolicy()
        self._wake: dict[str, asyncio.Event] = {name: asyncio.Event() for name in self._sinks}
        self.progress: dict[str, SinkProgress] = {
            name: SinkProgress(sink=name) for name in self._sinks
        }

    @property
    def sink_names(self) -> list[str]:
        return list(self._sinks)

    def notify(self) -> None:
        """Wake every sink loop: new notices were committed to the outbox.

        Call it after the transaction that inserted them has committed, never before. Safe to
        call from the event loop's thread at any time; a wake-up while a loop is busy is kept.
        """
        for event in self._wake.values():
            event.set()

    async def run_sink(self, name: str) -> None:
        """Deliver to sink ``name`` forever. Run it as a supervised task; cancel to stop."""
        sink = self._sinks[name]
        wake = self._wake[name]
        progress = self.progress[name]
        try:
            while True:
                # Clear before reading: a notify() that lands during the read is kept.
                wake.clear()
                notices = await self._outbox.pending(name, self._policy.batch)
                for notice in notices:
                    crashpoints.reached("outbox.taken", name)
                    await self._deliver(name, sink, notice, progress)
                if len(notices) >= self._policy.batch:
                    continue  # more may be waiting; do not sleep on a full batch
                progress.state = SinkState.IDLE
                with contextlib.suppress(TimeoutError):  # the safety poll
                    await asyncio.wait_for(wake.wait(), timeout=self._policy.poll)
        finally:
            progress.state = SinkState.STOPPED

    async def _deliver(
        self, name: str, sink: Deliverer, notice: AlertNotice, progress: SinkProgress
    ) -> None:
        attempt = 0
        while True:
            progress.state = SinkState.DELIVERING
            try:
                await sink.deliver(notice)
            except DeliveryRetry as exc:
                attempt += 1
                progress.retries += 1
                progress.last_error = f"{type(exc).__name__}: {exc}"
                progress.next_delay = self._policy.delay(attempt, exc.retry_after)
                progress.state = SinkState.RETRYING
                # Only the first failure of a run is a warning; the rest would flood the log.
                level = logging.WARNING if attempt == 1 else logging.DEBUG
                log.log(level, "sink %s: notice %d not delivered (%s); retry %d in %.1fs",
                        name, notice.seq, exc, attempt, progress.next_delay)
                # A plain sleep, not the wake event: a burst of confirmations must not
                # hammer a broker that is down.
                await asyncio.sleep(progress.next_delay)
                continue
            break
        crashpoints.reached("outbox.after_publish", name)
        await self._outbox.ack(name, notice.seq)
        crashpoints.reached("outbox.acked", name)
        # The outage (if any) is over: health must stop naming it.
        progress.last_error = None
        if attempt:
            log.info("sink %s: notice %d delivered after %d retries", name, notice.seq, attempt)
        progress.delivered += 1
        progress.last_seq = notice.seq
        progress.next_delay = 0.0

    def bodies(self) -> dict[str, Callable[[], Awaitable[None]]]:
        """One supervised-task body per sink, keyed ``sink:<name>``."""

        def body_for(name: str) -> Callable[[], Awaitable[None]]:
            async def body() -> None:
                await self.run_sink(name)

            return body

        return {f"sink:{name}": body_for(name) for name in self._sinks}

    def spawn(self, supervisor: Supervisor, backoff: Backoff | None = None) -> None:
        """Start every sink loop under ``supervisor`` (a sink that crashes is restarted)."""
        for task_name, body in self.bodies().items():
            supervisor.spawn(task_name, body, backoff)
