"""Contract every alert sink must pass (R5, R6).

Usage::

    class TestMySink(SinkContract):
        async def make_sink(self, context):
            return MySink(MySink.Config(...), context)

        async def received(self) -> list[bytes]:
            '''What the far end got so far, one payload per delivery.'''

The suite checks that a sink delivers a notice, that what crossed the wire holds no image
bytes and nothing but the notice's non-personal fields, and that ``close()`` is idempotent.
"""

from __future__ import annotations

import asyncio
from typing import Any

from kernel.protocols.adapter import AdapterContext
from kernel.protocols.sink import AlertNotice, AlertSink
from kernel.testing.camera_contract import make_context

NOTICE = AlertNotice(seq=1, alert_id="a1b2c3d4e5f60708", deployment_id="dep-1",
                     category="wanted", camera_id="gate-1",
                     confirmed_at="2026-11-27T10:00:00+00:00")
JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG"


class SinkContract:
    """Inherited test methods that any :class:`AlertSink` must pass."""

    async def make_sink(self, context: AdapterContext) -> Any:
        raise NotImplementedError("implement make_sink(context) in your Test class")

    async def received(self) -> list[bytes]:
        raise NotImplementedError("return the payloads the far end received")

    async def test_is_an_alert_sink(self) -> None:
        sink = await self.make_sink(make_context("contract-sink"))
        try:
            assert isinstance(sink, AlertSink)
        finally:
            await sink.close()

    async def test_delivers_without_images_or_names(self) -> None:
        """R6: the payload carries identifiers and non-personal facts only."""
        sink = await self.make_sink(make_context("contract-sink"))
        try:
            await sink.deliver(NOTICE)
            async with asyncio.timeout(10):
                while not (got := await self.received()):
                    await asyncio.sleep(0.05)
            payload = got[-1]
            assert NOTICE.alert_id.encode() in payload
            assert JPEG_MAGIC not in payload and PNG_MAGIC not in payload
            assert len(payload) < 4096  # room for links, never for an image
        finally:
            await sink.close()

    async def test_close_is_idempotent(self) -> None:
        sink = await self.make_sink(make_context("contract-sink"))
        await sink.close()
        await sink.close()
