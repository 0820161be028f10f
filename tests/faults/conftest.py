"""Fixtures of the fault-injection suite (issue 12): a real SQLite-backed outbox."""

from __future__ import annotations

from tests.outbox_seed import SeededOutbox, sqlite_outbox

__all__ = ["SeededOutbox", "sqlite_outbox"]
