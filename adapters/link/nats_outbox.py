"""An edge's outbox on its own nats-server: what it sends the console survives a stop.

With ``outbox_url`` set, :class:`~adapters.link.nats.NatsLink` on an edge writes candidates
and face counts to a file-backed work-queue stream on a nats-server on the edge itself
(127.0.0.1, its store on the edge's disk), and :class:`NatsOutbox` forwards them to the
console's broker oldest first: one message in flight (``max_ack_pending`` 1), taken off the
edge's disk only once the console's broker acknowledged it. The console's broker away, the
edge stopped and started again, the broker back: everything arrives, in order, once (a
message forwarded but not yet acknowledged locally is sent again with the same
``Nats-Msg-Id``, which the console's stream and the console's insert both deduplicate).

What is on the edge's disk there is what the kernel hands the link: matches only (R3), their
evidence sealed under the deployment's evidence key, which the edge's disk does not hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext, api

from kernel.protocols.link import LinkDown

MSG_ID = "Nats-Msg-Id"
CONSUMER = "forward"

log = logging.getLogger("pinchpoint.link.outbox")


class NatsOutbox:
    """Writes to the edge's stream (:meth:`put`) and forwards it (:meth:`run`)."""

    def __init__(self, url: str, stream: str, prefix: str, max_bytes: int, max_msgs: int,
                 duplicate_window_s: float, timeout_s: float,
                 send: Callable[[str, str, bytes], Awaitable[None]],
                 retry_s: float = 0.5, retry_max_s: float = 10.0) -> None:
        self.url = url
        self.stream = stream
        self.prefix = prefix
        """Outbox subject = ``<prefix>.<the console's subject>``."""
        self.max_bytes = max_bytes
        self.max_msgs = max_msgs
        self.duplicate_window_s = duplicate_window_s
        self.timeout_s = timeout_s
        self.send = send
        """(subject, key, data) → published on the console's broker and acknowledged
        there; raises :class:`LinkDown` while it is away."""
        self.retry_s = retry_s
        self.retry_max_s = retry_max_s
        self.forwarded = 0
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._pull: JetStreamContext.PullSubscription | None = None
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._fresh = True

    def start(self) -> None:
        """Forward in the background (idempotent; from any link call, so a backlog left by
        an earlier run moves as soon as the edge is up)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run(), name="outbox")

    async def close(self) -> None:
        """Stop forwarding and disconnect (a later call starts again)."""
        task, self._task = self._task, None
        # nats-py's connect can swallow a cancellation (it retries, then raises
        # NoServersError): cancel until the task is done, and :meth:`run` ends itself once
        # it is not the current forwarder
        while task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task], timeout=0.5)
        async with self._lock:
            await self._reset()

    async def _reset(self) -> None:
        nc, self._nc, self._js, self._pull = self._nc, None, None, None
        if nc is not None and not nc.is_closed:
            with contextlib.suppress(nats.errors.Error, OSError):
                await nc.close()

    async def _ready(self) -> JetStreamContext:
        async with self._lock:
            if self._js is not None and self._nc is not None and not self._nc.is_closed:
                return self._js
            await self._reset()
            try:
                nc = await nats.connect(self.url, connect_timeout=2, max_reconnect_attempts=3,
                                        reconnect_time_wait=0.5, error_cb=_quiet)
            except (nats.errors.Error, OSError) as exc:
                raise LinkDown(f"the edge's outbox server: {type(exc).__name__}") from None
            js = nc.jetstream(timeout=self.timeout_s)
            try:
                await js.add_stream(api.StreamConfig(
                    name=self.stream, subjects=[f"{self.prefix}.>"],
                    retention=api.RetentionPolicy.WORK_QUEUE, storage=api.StorageType.FILE,
                    discard=api.DiscardPolicy.NEW, duplicate_window=self.duplicate_window_s,
                    max_bytes=self.max_bytes, max_msgs=self.max_msgs))
            except (nats.errors.Error, OSError) as exc:
                await nc.close()
                raise LinkDown(f"the edge's outbox stream: {exc}") from None
            self._nc, self._js = nc, js
            return js

    async def put(self, subject: str, key: str, data: bytes) -> None:
        """Store one message for the console's ``subject`` on the edge's disk; raises
        :class:`LinkDown` when the edge's server refuses it (down, or the outbox full:
        the kernel keeps it queued in memory and retries)."""
        js = await self._ready()
        self.start()
        try:
            await js.publish(f"{self.prefix}.{subject}", data, headers={MSG_ID: key})
        except (nats.errors.Error, OSError) as exc:
            if isinstance(exc, nats.js.errors.NoStreamResponseError):
                self._js = None  # a fresh store: the stream is made again next call
            raise LinkDown(f"the edge's outbox: {type(exc).__name__}: {exc}") from None

    async def pending(self) -> int:
        """Messages on the edge's disk not yet acknowledged by the console's broker."""
        js = await self._ready()
        try:
            info = await js.stream_info(self.stream)
        except (nats.errors.Error, OSError) as exc:
            raise LinkDown(f"the edge's outbox: {exc}") from None
        return int(info.state.messages)

    async def run(self) -> None:
        """Forward until cancelled (or no longer the forwarder :meth:`start` made): a
        failure (either broker) waits with backoff and tries the same message again;
        nothing is dropped."""
        delay, away = self.retry_s, False
        while asyncio.current_task() is self._task:
            try:
                moved = await self._forward_one()
            except LinkDown as exc:
                if not away:
                    away = True
                    log.warning("forwarding paused (%s): the edge keeps its outbox on disk "
                                "and sends it in order when the console's broker answers", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max_s)
                continue
            if away and moved:
                away = False
                log.warning("forwarding again (%d forwarded by this run)", self.forwarded)
            delay = self.retry_s

    async def _forward_one(self) -> bool:
        """Forward the head of the outbox, if any; whether one went."""
        js = await self._ready()
        if self._pull is None:
            try:
                if self._fresh:
                    # A run that stopped (or was killed) holding the head unacknowledged
                    # would keep everything behind it for ack_wait: a new run starts the
                    # consumer afresh at the head (a head already forwarded goes again
                    # under its key, and is deduplicated).
                    with contextlib.suppress(nats.js.errors.NotFoundError):
                        await js.delete_consumer(self.stream, CONSUMER)
                    self._fresh = False
                self._pull = await js.pull_subscribe(
                    f"{self.prefix}.>", durable=CONSUMER, stream=self.stream,
                    config=api.ConsumerConfig(ack_policy=api.AckPolicy.EXPLICIT,
                                              ack_wait=max(30.0, 4 * self.timeout_s),
                                              max_deliver=-1, max_ack_pending=1))
            except (nats.errors.Error, OSError) as exc:
                self._js = None
                raise LinkDown(f"the edge's outbox consumer: {exc}") from None
        try:
            msgs = await self._pull.fetch(1, timeout=1.0)
        except TimeoutError:  # nothing waiting
            return False
        except (nats.errors.Error, OSError) as exc:
            self._pull = None
            raise LinkDown(f"the edge's outbox: {exc}") from None
        for msg in msgs:
            subject = msg.subject[len(self.prefix) + 1:]
            try:
                await self.send(subject, str((msg.headers or {}).get(MSG_ID, "")), msg.data)
            except LinkDown:
                # back to the head of the outbox (one in flight: nothing overtakes it)
                with contextlib.suppress(nats.errors.Error, OSError):
                    await msg.nak(delay=self.retry_s)
                raise
            try:
                await msg.ack_sync(timeout=self.timeout_s)
            except (nats.errors.Error, OSError) as exc:
                # redelivered after ack_wait with the same key: deduplicated downstream
                raise LinkDown(f"the edge's outbox ack: {exc}") from None
            self.forwarded += 1
        return bool(msgs)


async def _quiet(exc: Exception) -> None:
    log.debug("outbox server: %s", exc)
