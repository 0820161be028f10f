"""The outbox dispatcher on a real SQLite outbox (R5, R6). The sinks here are test doubles of
the one seam under test (``deliver``); the real transports have their own tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from kernel.delivery.dispatcher import Dispatcher, RetryPolicy, SinkState
from kernel.protocols.sink import AlertNotice, DeliveryRetry
from kernel.supervisor import Backoff, Supervisor, TaskState

FAST = RetryPolicy(initial=0.01, maximum=0.05, poll=60.0)


class RecordingSink:
    """Records each delivery attempt; ``fail[seq]`` = how many attempts of seq to refuse."""

    def __init__(self, fail: dict[int, int] | None = None) -> None:
        self.fail = dict(fail or {})
        self.attempts: list[int] = []
        self.delivered: list[int] = []

    async def deliver(self, notice: AlertNotice) -> None:
        self.attempts.append(notice.seq)
        if self.fail.get(notice.seq, 0) > 0:
            self.fail[notice.seq] -= 1
            raise DeliveryRetry("transport unavailable")
        self.delivered.append(notice.seq)


class DeadSink:
    async def deliver(self, notice: AlertNotice) -> None:
        raise DeliveryRetry("broker down")


class StuckSink:
    """Accepts the call and never returns: a publish waiting for an acknowledgement."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()

    async def deliver(self, notice: AlertNotice) -> None:
        self.entered.set()
        await asyncio.Event().wait()


@contextlib.asynccontextmanager
async def loop_of(dispatcher: Dispatcher, name: str) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(dispatcher.run_sink(name))
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.01)


def at(outbox: Any, sink: str, seq: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return bool(await outbox.position(sink) >= seq)

    return check


async def test_order_kept_across_retries(sqlite_outbox: Any) -> None:  # R5 R6
    """DeliveryRetry re-offers the same notice: order kept, none skipped, none lost."""
    sink = RecordingSink(fail={2: 2, 4: 1})
    dispatcher = Dispatcher(sqlite_outbox, {"s": sink}, FAST)
    seqs = await sqlite_outbox.confirm(5)
    async with loop_of(dispatcher, "s"):
        dispatcher.notify()
        await until(at(sqlite_outbox, "s", seqs[-1]))
    assert sink.delivered == seqs
    s = seqs
    assert sink.attempts == [s[0], s[1], s[1], s[1], s[2], s[3], s[3], s[4]]
    progress = dispatcher.progress["s"]
    assert progress.retries == 3 and progress.delivered == 5 and progress.last_seq == s[-1]
    assert progress.state is SinkState.STOPPED


async def test_batches_smaller_than_the_backlog(sqlite_outbox: Any) -> None:  # R6
    sink = RecordingSink()
    dispatcher = Dispatcher(sqlite_outbox, {"s": sink},
                            RetryPolicy(initial=0.01, maximum=0.05, poll=60.0, batch=2))
    seqs = await sqlite_outbox.confirm(5)
    async with loop_of(dispatcher, "s"):
        dispatcher.notify()
        await until(at(sqlite_outbox, "s", seqs[-1]))
    assert sink.delivered == seqs


async def test_notify_wakes_the_loop_and_the_poll_is_a_safety_net(sqlite_outbox: Any) -> None:
    """R6: a confirmation is delivered on notify() although the poll is a minute away; with
    no notify at all, the safety poll still finds it."""
    sink = RecordingSink()
    dispatcher = Dispatcher(sqlite_outbox, {"s": sink}, FAST)
    async with loop_of(dispatcher, "s"):
        await until(lambda: _state(dispatcher, "s", SinkState.IDLE))
        seqs = await sqlite_outbox.confirm(1)
        dispatcher.notify()
        await until(at(sqlite_outbox, "s", seqs[-1]), timeout=5)
    polled = Dispatcher(sqlite_outbox, {"p": RecordingSink()},
                        RetryPolicy(initial=0.01, maximum=0.05, poll=0.05))
    async with loop_of(polled, "p"):
        await until(at(sqlite_outbox, "p", seqs[-1]))
        more = await sqlite_outbox.confirm(1)  # no notify()
        await until(at(sqlite_outbox, "p", more[-1]))


async def _state(dispatcher: Dispatcher, name: str, state: SinkState) -> bool:
    return dispatcher.progress[name].state is state


async def test_failing_sink_does_not_hold_up_another(sqlite_outbox: Any) -> None:  # R6
    """Two sinks under the supervisor: one dead broker, one healthy transport."""
    good = RecordingSink()
    dispatcher = Dispatcher(sqlite_outbox, {"dead": DeadSink(), "good": good}, FAST)
    supervisor = Supervisor()
    dispatcher.spawn(supervisor, Backoff(initial=0.01))
    try:
        seqs = await sqlite_outbox.confirm(3)
        dispatcher.notify()
        await until(at(sqlite_outbox, "good", seqs[-1]))
        await until(lambda: _retried(dispatcher, "dead", 3))
        assert good.delivered == seqs
        assert await sqlite_outbox.position("dead") == 0
        assert [n.seq for n in await sqlite_outbox.pending("dead", 10)] == seqs
        assert supervisor.status["sink:dead"].state is TaskState.RUNNING
        assert dispatcher.progress["dead"].state is SinkState.RETRYING
    finally:
        await supervisor.close()


async def _retried(dispatcher: Dispatcher, name: str, n: int) -> bool:
    return dispatcher.progress[name].retries >= n


async def test_cancel_mid_delivery_loses_nothing(sqlite_outbox: Any) -> None:  # R6
    """Shutdown while a notice is being handed over: it was not acknowledged, so the next
    start delivers it again (at least once), followed by the rest in order."""
    stuck = StuckSink()
    dispatcher = Dispatcher(sqlite_outbox, {"s": stuck}, FAST)
    seqs = await sqlite_outbox.confirm(2)
    async with loop_of(dispatcher, "s"):
        dispatcher.notify()
        await asyncio.wait_for(stuck.entered.wait(), 5)
    assert await sqlite_outbox.position("s") == 0

    after = RecordingSink()
    restarted = Dispatcher(sqlite_outbox, {"s": after}, FAST)
    async with loop_of(restarted, "s"):
        await until(at(sqlite_outbox, "s", seqs[-1]))  # found at start, without notify()
    assert after.delivered == seqs


async def test_crashing_sink_is_restarted_by_the_supervisor(sqlite_outbox: Any) -> None:
    """A bug (not DeliveryRetry) ends the loop; the supervisor restarts it and the notice is
    offered again from the outbox position (R6)."""

    class Buggy(RecordingSink):
        crashed = False

        async def deliver(self, notice: AlertNotice) -> None:
            if not self.crashed:
                self.crashed = True
                raise KeyError("bug")
            await super().deliver(notice)

    sink = Buggy()
    dispatcher = Dispatcher(sqlite_outbox, {"s": sink}, FAST)
    supervisor = Supervisor()
    dispatcher.spawn(supervisor, Backoff(initial=0.01))
    try:
        seqs = await sqlite_outbox.confirm(2)
        dispatcher.notify()
        await until(at(sqlite_outbox, "s", seqs[-1]))
    finally:
        await supervisor.close()
    assert sink.delivered == seqs
    assert supervisor.status["sink:s"].restarts == 1


def test_backoff_is_capped() -> None:
    policy = RetryPolicy(initial=0.5, maximum=4.0)
    assert [policy.delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


async def test_unknown_sink_name_is_an_error(sqlite_outbox: Any) -> None:
    with pytest.raises(KeyError):
        await Dispatcher(sqlite_outbox, {}, FAST).run_sink("unknown")
