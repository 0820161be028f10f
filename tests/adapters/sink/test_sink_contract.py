"""sink.mqtt passes the sink contract, against a real private Mosquitto (R5, R6)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mosquitto_broker import Broker
from test_sink_mqtt import Officer, make_sink

from kernel.protocols.adapter import AdapterContext
from kernel.testing.sink_contract import SinkContract


class TestMqttSinkContract(SinkContract):
    @pytest.fixture(autouse=True)
    async def _device(self, broker: Broker, tmp_path: Path) -> AsyncIterator[None]:
        self.broker, self.tmp = broker, tmp_path
        self.officer = Officer(broker.port)
        task = asyncio.create_task(self.officer.run())
        await asyncio.wait_for(self.officer.subscribed.wait(), 10)
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def make_sink(self, context: AdapterContext) -> Any:
        sink, _ = make_sink(self.tmp, self.broker.port)
        return sink

    async def received(self) -> list[bytes]:
        return list(self.officer.raw)
