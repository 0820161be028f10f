"""Push-service outages (issue 12, fault-injection suite; R6): a push service answering 5xx,
429 with ``Retry-After``, or refusing connections. The real Web Push sink, the real outbox
dispatcher and a real SQLite outbox, against the local push service of
``tests/adapters/sink/push_service.py``: nothing lost, retries bounded and backing off (the
gaps between attempts are at least the policy's delays: load can only lengthen them), the
sink's health names the outage while it lasts, and delivery resumes by itself.

The MQTT broker outage, with the health route over HTTP, is
``tests/integration/test_api_mqtt_delivery.py``."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kernel.delivery.dispatcher import Dispatcher, RetryPolicy, SinkProgress, SinkState
from kernel.delivery.subscriptions import MemoryPushSubscriptions
from tests.adapters.sink.push_service import PushService, make_sink, serving
from tests.outbox_seed import SeededOutbox
from tests.waiting import until

pytestmark = pytest.mark.faults

POLICY = RetryPolicy(initial=0.05, maximum=0.4, poll=60.0)


@contextlib.asynccontextmanager
async def delivering(dispatcher: Dispatcher) -> AsyncIterator[None]:
    task = asyncio.create_task(dispatcher.run_sink("webpush"))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def least_gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


def attempts_allowed(policy: RetryPolicy, elapsed: float) -> int:
    """The most attempts a dispatcher that waits ``policy.delay(n)`` after failure n can make
    in ``elapsed`` seconds (the first is immediate)."""
    n, spent = 1, 0.0
    while spent + policy.delay(n) <= elapsed:
        spent += policy.delay(n)
        n += 1
    return n


async def test_faults_push_service_5xx_429_and_refused_lose_nothing_and_back_off(
    sqlite_outbox: SeededOutbox, tmp_path: Path
) -> None:
    service = PushService("")
    subs = MemoryPushSubscriptions()
    sink, executor = make_sink(tmp_path, subs)
    service.vapid_public = sink.application_server_key
    dispatcher = Dispatcher(sqlite_outbox, {"webpush": sink}, POLICY)
    progress: SinkProgress = dispatcher.progress["webpush"]
    outbox = sqlite_outbox
    try:
        async with serving(service) as port, delivering(dispatcher):
            subs.add("dep-1", service.device("tablet").subscription())
            # 1. 503 four times: each retry waits at least the doubling backoff.
            service.script["tablet"] = [503, 503, 503, 503]
            [first] = await outbox.confirm(1)
            dispatcher.notify()
            await until(lambda: progress.state is SinkState.RETRYING, what="retrying")
            assert progress.last_error is not None and "HTTP 503" in progress.last_error
            assert await outbox.wait_position("webpush", first) == first
            assert service.requests["tablet"] == 5
            gaps = least_gaps(service.times["tablet"])
            for attempt, gap in enumerate(gaps, start=1):
                assert gap >= POLICY.delay(attempt) * 0.95, (attempt, gaps)
            assert progress.last_error is None  # the outage is over: health says so

            # 2. 429 with Retry-After: 1 — the sink's backoff would have been 0.05 s.
            service.script["tablet"] = [(429, {"Retry-After": "1"})]
            before = len(service.times["tablet"])
            [second] = await outbox.confirm(1)
            dispatcher.notify()
            await until(lambda: progress.state is SinkState.RETRYING, what="throttled")
            assert progress.next_delay == 1.0 and "HTTP 429" in (progress.last_error or "")
            assert await outbox.wait_position("webpush", second) == second
            t429, tok = service.times["tablet"][before:]
            assert tok - t429 >= 0.95  # issue 12 finding 14: Retry-After honoured

        # 3. Connection refused: the push service is gone for a while.
        retries_before = progress.retries
        async with delivering(dispatcher):
            loop = asyncio.get_running_loop()
            down_at = loop.time()
            third = await outbox.confirm(2)
            dispatcher.notify()
            await until(lambda: progress.retries - retries_before >= 4, what="4 retries")
            assert progress.state is SinkState.RETRYING
            assert progress.last_error is not None and "Connect" in progress.last_error
            assert await outbox.position("webpush") == second  # nothing acknowledged
            attempts = progress.retries - retries_before
            assert attempts <= attempts_allowed(POLICY, loop.time() - down_at)
            async with serving(service, port):  # back on the same address
                assert await outbox.wait_position("webpush", third[-1]) == third[-1]
                await until(lambda: progress.state is SinkState.IDLE, what="idle again")
        assert progress.last_error is None
        payloads = [json.loads(p)["seq"] for p in service.received["tablet"]]
        assert payloads == [first, second, *third]  # each once, in order, none lost
        assert service.errors == []
    finally:
        await sink.close()
        executor.shutdown()
