"""Supervision: a crashing task is restarted with growing delays, the others keep going."""

from __future__ import annotations

import asyncio

import pytest

from kernel.clock import ManualClock
from kernel.supervisor import Backoff, Finished, Supervisor, TaskState
from tests.waiting import until


def test_backoff_doubles_up_to_the_cap() -> None:
    b = Backoff(initial=0.5, maximum=4.0)
    assert [b.delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


async def test_crashing_task_restarts_while_another_runs() -> None:
    sup = Supervisor()
    crashes = 0
    ticks = 0

    async def crashy() -> None:
        nonlocal crashes
        crashes += 1
        raise RuntimeError("camera unplugged")

    async def steady() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    crashed = sup.spawn("crashy", crashy, Backoff(initial=0.01, maximum=0.04))
    sup.spawn("steady", steady)
    await until(lambda: crashes >= 4 and crashed.next_delay == 0.04,
                what="four crashes, the delay grown to its cap")
    assert crashes >= 4
    assert crashed.restarts == crashes - 1 or crashed.restarts == crashes
    assert crashed.state in (TaskState.RESTARTING, TaskState.RUNNING)
    assert crashed.last_error == "RuntimeError: camera unplugged"
    assert crashed.next_delay == 0.04  # grew to the cap
    ticks_before = ticks
    await until(lambda: ticks > ticks_before, what="the healthy task never stopped")
    await sup.close()
    assert sup.status["steady"].state == TaskState.STOPPED


async def test_finished_and_failed_states() -> None:
    sup = Supervisor()

    async def done() -> None:
        raise Finished

    async def broken() -> None:
        raise ValueError("bad")

    sup.spawn("done", done)
    sup.spawn("broken", broken, Backoff(initial=0.001, max_restarts=2))
    await sup.wait()
    assert sup.status["done"].state == TaskState.FINISHED
    assert sup.status["broken"].state == TaskState.FAILED
    assert sup.status["broken"].restarts == 2


async def test_backoff_resets_after_a_stable_run() -> None:
    clock = ManualClock()
    sup = Supervisor(clock)
    runs = 0
    delays: list[float] = []

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        delays.append(status.next_delay)  # the delay that preceded this run
        if runs == 3:
            from datetime import timedelta

            clock.advance(timedelta(seconds=120))  # this run lasted "two minutes"
        raise RuntimeError("x")

    status = sup.spawn("flaky", flaky, Backoff(initial=0.01, maximum=1.0, stable=60))
    while runs < 4:
        await asyncio.sleep(0.005)
    await sup.close()
    # runs 1, 2 grew the delay; run 3 was stable so the next delay is the initial one again
    assert delays[1:4] == pytest.approx([0.01, 0.02, 0.01])


async def test_duplicate_names_are_refused() -> None:
    sup = Supervisor()

    async def idle() -> None:
        await asyncio.sleep(10)

    sup.spawn("x", idle)
    with pytest.raises(ValueError, match="already supervised"):
        sup.spawn("x", idle)
    await sup.close()
