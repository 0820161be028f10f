"""sink.webpush against the local push service of ``push_service.py`` (it verifies the VAPID
JWT, RFC 8292, and decrypts the aes128gcm body, RFC 8291, with a simulated browser's keys;
R6)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import stat
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from kernel.clock import ManualClock
from kernel.delivery import vapid
from kernel.delivery.dispatcher import Dispatcher, RetryPolicy
from kernel.delivery.subscriptions import MemoryPushSubscriptions
from kernel.protocols.sink import AlertNotice, AlertSink, DeliveryRetry
from tests.adapters.sink.push_service import Device, PushService, make_sink, serving, unb64url


@pytest.fixture
async def push_service() -> AsyncIterator[PushService]:
    service = PushService("")
    async with serving(service):
        yield service


def notice(seq: int) -> AlertNotice:
    return AlertNotice(seq=seq, alert_id=f"alert-{seq:04d}", deployment_id="dep-1",
                       category="wanted", camera_id="gate-1",
                       confirmed_at="2026-01-01T00:00:00+00:00")


async def test_push_carries_alert_id_only(  # R6
    push_service: PushService, sqlite_outbox: Any, tmp_path: Path
) -> None:
    """Through the dispatcher from a real outbox: each device gets one encrypted push whose
    plaintext is exactly {"alert_id", "seq"}: no image, name, reference, category, camera."""
    service = push_service
    subs = MemoryPushSubscriptions()
    sink, executor = make_sink(tmp_path, subs)
    assert isinstance(sink, AlertSink)
    service.vapid_public = sink.application_server_key
    for name in ("tablet-a", "tablet-b"):
        subs.add("dep-1", service.device(name).subscription())
    subs.add("dep-other", service.device("tablet-elsewhere").subscription())
    dispatcher = Dispatcher(sqlite_outbox, {"webpush": sink},
                            RetryPolicy(initial=0.01, maximum=0.05))
    seqs = await sqlite_outbox.confirm(2)
    task = asyncio.create_task(dispatcher.run_sink("webpush"))
    try:
        dispatcher.notify()
        async with asyncio.timeout(10):
            while dispatcher.progress["webpush"].last_seq < seqs[-1]:
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await sink.close()
        executor.shutdown()
    assert service.errors == []
    assert await sqlite_outbox.position("webpush") == seqs[-1]
    for name in ("tablet-a", "tablet-b"):
        payloads = [json.loads(p) for p in service.received[name]]
        assert payloads == [{"alert_id": f"alert-{i:04d}", "seq": s}
                            for i, s in zip((1, 2), seqs, strict=True)]
        assert all(len(p) < 64 for p in service.received[name])
    assert "tablet-elsewhere" not in service.received  # another deployment's device


async def test_gone_subscription_is_removed_and_others_served(  # R6
    push_service: PushService, tmp_path: Path
) -> None:
    """410 and 404 remove the subscription; a device refused for good (403) is skipped;
    none of them stops the healthy device from being woken."""
    service = push_service
    subs = MemoryPushSubscriptions()
    sink, executor = make_sink(tmp_path, subs)
    service.vapid_public = sink.application_server_key
    for name in ("gone-410", "gone-404", "refused-403", "healthy"):
        subs.add("dep-1", service.device(name).subscription())
    service.script = {"gone-410": [410], "gone-404": [404], "refused-403": [403]}
    try:
        await sink.deliver(notice(1))
    finally:
        await sink.close()
        executor.shutdown()
    remaining = {s.endpoint.rsplit("/", 1)[1] for s in await subs.for_deployment("dep-1")}
    assert remaining == {"refused-403", "healthy"}
    assert [json.loads(p) for p in service.received["healthy"]] == [
        {"alert_id": "alert-0001", "seq": 1}]


async def test_transient_failure_retries_without_waking_twice(  # R6
    push_service: PushService, tmp_path: Path
) -> None:
    """503 → DeliveryRetry; the retry goes only to the device that failed, then succeeds."""
    service = push_service
    subs = MemoryPushSubscriptions()
    sink, executor = make_sink(tmp_path, subs)
    service.vapid_public = sink.application_server_key
    for name in ("flaky", "healthy"):
        subs.add("dep-1", service.device(name).subscription())
    service.script = {"flaky": [503, 429]}
    try:
        for _ in range(2):
            with pytest.raises(DeliveryRetry):
                await sink.deliver(notice(7))
        await sink.deliver(notice(7))
    finally:
        await sink.close()
        executor.shutdown()
    assert service.requests == {"flaky": 3, "healthy": 1}
    assert len(service.received["flaky"]) == 1 and len(service.received["healthy"]) == 1


async def test_push_service_down_then_gives_up_after_window(tmp_path: Path) -> None:  # R6
    """A push service that is unreachable: DeliveryRetry until the retry window has passed,
    then the notice is let go so later alerts are not held back."""
    clock = ManualClock()
    subs = MemoryPushSubscriptions()
    sink, executor = make_sink(tmp_path, subs, clock)
    subs.add("dep-1", Device("x", "http://127.0.0.1:9/push/x").subscription())  # discard port
    try:
        with pytest.raises(DeliveryRetry):
            await sink.deliver(notice(1))
        clock.advance(timedelta(seconds=61))
        await sink.deliver(notice(1))  # gave up: returns
        with pytest.raises(DeliveryRetry):  # a new notice starts its own window
            await sink.deliver(notice(2))
    finally:
        await sink.close()
        executor.shutdown()


def test_vapid_key_made_once_and_private(tmp_path: Path) -> None:  # R6 R23
    """Generated on first start, 0600, reused afterwards; public key published beside it."""
    keys = vapid.load_or_create(tmp_path / "keys")
    mode = stat.S_IMODE((tmp_path / "keys" / vapid.PRIVATE_FILE).stat().st_mode)
    assert mode == 0o600
    again = vapid.load_or_create(tmp_path / "keys")
    assert again.public_key_b64url == keys.public_key_b64url
    assert len(unb64url(keys.public_key_b64url)) == 65
    published = (tmp_path / "keys" / vapid.PUBLIC_FILE).read_text().strip()
    assert published == keys.public_key_b64url
    forced = vapid.load_or_create(tmp_path / "keys", force=True)
    assert forced.public_key_b64url != keys.public_key_b64url
    assert stat.S_IMODE(forced.private_path.stat().st_mode) == 0o600
