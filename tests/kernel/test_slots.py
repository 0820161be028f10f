"""Bounded event flow: a slow stage drops the oldest frames, counted, never grows memory."""

from __future__ import annotations

import asyncio
import tracemalloc

import numpy as np

from kernel.slots import FairScheduler, LatestSlot


def test_latest_slot_keeps_newest_and_counts_drops() -> None:
    slot: LatestSlot[int] = LatestSlot(capacity=2)
    for i in range(10):
        slot.put(i)
    assert len(slot) == 2
    assert slot.dropped == 8
    assert [slot.take(), slot.take(), slot.take()] == [8, 9, None]


def test_fair_scheduler_round_robin() -> None:
    sched: FairScheduler[int] = FairScheduler(capacity=3)
    for i in range(3):
        sched.put("busy", i)
    sched.put("quiet", 100)
    order = [sched.take_nowait() for _ in range(4)]
    assert order[:2] == [("busy", 0), ("quiet", 100)]
    assert order[2:] == [("busy", 1), ("busy", 2)]
    assert sched.take_nowait() is None


async def test_flooded_slow_stage_has_bounded_memory_and_counted_drops() -> None:
    """A camera producing far faster than the stage can take: memory stays flat."""
    sched: FairScheduler[np.ndarray] = FairScheduler(capacity=1)
    produced = 0
    consumed = 0

    async def flood() -> None:
        nonlocal produced
        while True:
            sched.put("cam", np.zeros((360, 640, 3), np.uint8))  # 0.7 MB a frame
            produced += 1
            await asyncio.sleep(0)

    async def slow_stage() -> None:
        nonlocal consumed
        while True:
            await sched.take()
            consumed += 1
            await asyncio.sleep(0.01)

    tracemalloc.start()
    tasks = [asyncio.create_task(flood()), asyncio.create_task(slow_stage())]
    await asyncio.sleep(0.5)
    _, peak = tracemalloc.get_traced_memory()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    tracemalloc.stop()
    frame_bytes = 360 * 640 * 3
    assert produced > 20 * consumed  # the stage really was flooded
    assert peak < 4 * frame_bytes  # never more than a few frames alive at once
    slot = sched.slots["cam"]
    assert slot.dropped + consumed + len(slot) == produced
