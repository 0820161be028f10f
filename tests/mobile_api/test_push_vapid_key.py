"""R6: with the Web Push sink configured, the PWA gets the sink's VAPID public key from
``GET /api/push/vapid-public-key`` (issue 12, finding 6: the sink wrote ``vapid_public.txt``,
the API read ``vapid_public_key``, 404). One module (kernel.delivery.vapid) names the files."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from adapters.sink.webpush import WebPushSink
from kernel.clock import SystemClock
from kernel.delivery import vapid
from kernel.delivery.subscriptions import MemoryPushSubscriptions
from kernel.executor import BoundedExecutor
from kernel.protocols.adapter import AdapterContext
from tests.mobile_api.conftest import PASSWORD, REPO, LiveApi


def test_r6_vapid_public_key_served_when_the_webpush_sink_is_configured(
        tmp_path: Path) -> None:
    if not (REPO / "var" / "models" / "models.json").is_file():
        pytest.skip("models not built: run `pinchpoint models build` (var/models)")
    context = AdapterContext(name="webpush", data_dir=tmp_path, executor=BoundedExecutor(1, 1),
                             clock=SystemClock(), log=logging.getLogger("test.webpush"))
    # What `pinchpoint run` does: the sinks are built before the HTTP service starts.
    sink = WebPushSink(WebPushSink.Config(subject="mailto:ops@force.example"), context,
                       MemoryPushSubscriptions())
    api = LiveApi(tmp_path)
    try:
        api.call(api.backend.accounts.add_user("officer", "officer", PASSWORD, "t"))
        with api.client("officer") as c:
            r = c.get("/api/push/vapid-public-key")
        assert r.status_code == 200, r.text
        assert r.json()["public_key"] == sink.application_server_key
        keys = tmp_path / "keys"
        for name in (vapid.PRIVATE_FILE, vapid.PUBLIC_FILE):  # key files 0600 (finding 12)
            assert stat.S_IMODE((keys / name).stat().st_mode) == 0o600, name
    finally:
        api.close()
