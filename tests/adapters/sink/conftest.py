"""Fixtures for the sink tests: a real SQLite-backed outbox (store.sqlite) holding confirmed
alerts, and a private Mosquitto broker that a test may stop and restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mosquitto_broker import MOSQUITTO, MOSQUITTO_PASSWD, Broker

from tests.outbox_seed import SeededOutbox, sqlite_outbox

__all__ = ["SeededOutbox", "broker", "sqlite_outbox"]


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[Broker]:
    if not MOSQUITTO.exists() or not MOSQUITTO_PASSWD.exists():
        pytest.skip("mosquitto not installed (apt-get install -y mosquitto)")
    work = tmp_path / "broker"
    work.mkdir()
    b = Broker(work, "dep-1")
    await b.start()
    try:
        yield b
    finally:
        await b.stop()
