"""Per-camera frame slots and the fair scheduler that drains them.

Each camera writes into its own slot that holds only the newest few frames; a slow pipeline
costs dropped (and counted) frames, never memory or a blocked camera. The scheduler serves
cameras round-robin, so a busy camera cannot starve a quiet one.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestSlot(Generic[T]):
    """A bounded buffer where a new item pushes out the oldest one (counted in ``dropped``)."""

    def __init__(self, capacity: int = 1) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._items: deque[T] = deque(maxlen=capacity)
        self.accepted = 0
        self.dropped = 0

    def put(self, item: T) -> None:
        if len(self._items) == self._items.maxlen:
            self.dropped += 1
        self._items.append(item)
        self.accepted += 1

    def take(self) -> T | None:
        return self._items.popleft() if self._items else None

    def __len__(self) -> int:
        return len(self._items)


class FairScheduler(Generic[T]):
    """Round-robin over named :class:`LatestSlot` s, waiting without polling when all are empty."""

    def __init__(self, capacity: int = 1) -> None:
        self._capacity = capacity
        self.slots: dict[str, LatestSlot[T]] = {}
        self._order: deque[str] = deque()
        self._ready = asyncio.Event()

    def slot(self, key: str) -> LatestSlot[T]:
        if key not in self.slots:
            self.slots[key] = LatestSlot(self._capacity)
            self._order.append(key)
        return self.slots[key]

    def put(self, key: str, item: T) -> None:
        self.slot(key).put(item)
        self._ready.set()

    def take_nowait(self) -> tuple[str, T] | None:
        """The next item in round-robin order, or None when every slot is empty."""
        for _ in range(len(self._order)):
            key = self._order[0]
            self._order.rotate(-1)
            item = self.slots[key].take()
            if item is not None:
                return key, item
        self._ready.clear()
        return None

    async def take(self) -> tuple[str, T]:
        while True:
            got = self.take_nowait()
            if got is not None:
                return got
            await self._ready.wait()

    def take_batch(self, limit: int) -> list[tuple[str, T]]:
        """Up to ``limit`` items, at most one per camera per round, in fair order."""
        out: list[tuple[str, T]] = []
        while len(out) < limit:
            got = self.take_nowait()
            if got is None:
                break
            out.append(got)
        return out

    @property
    def dropped(self) -> dict[str, int]:
        return {k: s.dropped for k, s in self.slots.items()}
