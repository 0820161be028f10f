"""Fixtures of the fault-injection suite (issue 12): a real SQLite-backed outbox, and the real
API server of the mobile API tests (module-scoped: each fuzz module gets its own)."""

from __future__ import annotations

from tests.mobile_api.conftest import LiveApi, live_api
from tests.outbox_seed import SeededOutbox, sqlite_outbox

__all__ = ["LiveApi", "SeededOutbox", "live_api", "sqlite_outbox"]
