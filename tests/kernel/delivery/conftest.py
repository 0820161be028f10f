"""Delivery tests use the shared SQLite-backed outbox."""

from tests.outbox_seed import SeededOutbox, sqlite_outbox

__all__ = ["SeededOutbox", "sqlite_outbox"]
