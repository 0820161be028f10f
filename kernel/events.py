"""The in-process live-feed bus: committed domain changes, fanned out to live subscribers.

Each published event gets the next ``seq`` (1, 2, 3, ... for the life of the bus) and the
topics it belongs to (``candidate``, ``test``, ``alert``, ...). A subscriber names the topics
it may see and gets its own bounded queue, so a slow client costs only itself: when its queue
is full its backlog is dropped and it receives a single ``resync`` event (refetch the list
over REST), never unbounded memory.

The last ``buffer`` events stay in a ring buffer so that a client that reconnects with
``Last-Event-ID`` gets what it missed. If that id is older than the buffer (or newer than
anything published, e.g. after a server restart), it gets ``resync`` instead.

Publish only what the domain has already committed (persist before announce): the bus never
reads the store, and an event is a hint to refetch, carrying ids and non-personal facts only.
Its publisher is :mod:`mobile_api.live_feed`, a subscriber of the domain's post-commit events
(:mod:`kernel.domain.events`).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import msgspec

RESYNC = "resync"
"""The event kind that tells a client to drop what it holds and refetch over REST."""


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """One announcement. ``data`` holds ids and non-personal facts only (R3, R6)."""

    seq: int
    kind: str
    topics: frozenset[str]
    data: dict[str, Any]


class Subscription:
    """A subscriber's bounded queue; iterate it, and close it (or use ``async with``)."""

    def __init__(self, bus: EventBus, topics: frozenset[str], maxsize: int) -> None:
        self.bus = bus
        self.topics = topics
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize)
        self.overflows = 0
        self.closed = False

    def wants(self, event: Event) -> bool:
        return event.kind == RESYNC or bool(self.topics & event.topics)

    def offer(self, event: Event) -> None:
        """Queue ``event`` without waiting; on overflow drop the backlog and ask to resync."""
        if self.closed or not self.wants(event):
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflows += 1
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(self.bus.resync_event(reason="overflow"))

    async def get(self) -> Event:
        return await self.queue.get()

    def close(self) -> None:
        self.closed = True
        self.bus.unsubscribe(self)

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while not self.closed:
            yield await self.queue.get()


class EventBus:
    """Per-subscriber bounded queues, a global ``seq`` and a ring buffer for resume."""

    def __init__(self, buffer: int = 1000, queue: int = 256) -> None:
        if buffer < 1 or queue < 2:
            raise ValueError("buffer must be >= 1 and queue >= 2")
        self._ring: deque[Event] = deque(maxlen=buffer)
        self._seq = itertools.count(1)
        self._last = 0
        self._subs: set[Subscription] = set()
        self.queue_size = queue

    @property
    def last_seq(self) -> int:
        """The seq of the newest event (0 before the first)."""
        return self._last

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def publish(self, kind: str, topics: Iterable[str], data: Mapping[str, Any]) -> Event:
        """Announce a committed change to every subscriber of one of ``topics``."""
        seq = next(self._seq)
        self._last = seq
        event = Event(seq=seq, kind=kind, topics=frozenset(topics), data=dict(data))
        self._ring.append(event)
        for sub in list(self._subs):
            sub.offer(event)
        return event

    def resync_event(self, reason: str) -> Event:
        """A ``resync`` at the current position: after it, the client is up to date."""
        return Event(seq=self._last, kind=RESYNC, topics=frozenset(), data={"reason": reason})

    def subscribe(self, topics: Iterable[str], last_event_id: int | None = None
                  ) -> Subscription:
        """A new subscription to ``topics``.

        With ``last_event_id`` the events after it that are still buffered are queued first;
        if some were already evicted (or the id is from the future), a ``resync`` is queued
        instead. Registration and replay happen without an ``await`` in between, so nothing
        published meanwhile can fall in the gap.
        """
        sub = Subscription(self, frozenset(topics), self.queue_size)
        if last_event_id is not None:
            oldest = self._ring[0].seq if self._ring else self._last + 1
            if last_event_id > self._last or last_event_id < oldest - 1:
                sub.offer(self.resync_event(reason="too_old" if last_event_id < oldest - 1
                                            else "unknown_id"))
            else:
                for event in self._ring:
                    if event.seq > last_event_id:
                        sub.offer(event)
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)
