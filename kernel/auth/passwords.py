"""Argon2id password hashing (R23) through argon2-cffi.

Hashing is deliberately slow and memory-hard, so it runs in a worker thread, never on the
event loop. The encoded hash carries its own parameters, so raising the cost later still
verifies old hashes (and :meth:`Passwords.needs_rehash` says when to upgrade one).
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from kernel.errors import PinchpointError

MIN_LENGTH = 10
MAX_LENGTH = 1024


class WeakPassword(PinchpointError, ValueError):
    """A password refused by :func:`check_policy`; the message says why."""

    exit_code = 2


def check_policy(password: str) -> None:
    """Refuse passwords that are too short (or absurdly long, a hashing cost attack)."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"a password may have at most {MAX_LENGTH} characters")


class Passwords:
    """Argon2id hashing with configurable cost."""

    def __init__(self, time_cost: int = 3, memory_kib: int = 65536, parallelism: int = 4) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib,
                                      parallelism=parallelism, type=Type.ID)

    def hash_sync(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify_sync(self, encoded: str, password: str) -> bool:
        try:
            return self._hasher.verify(encoded, password)
        except (VerificationError, InvalidHashError):
            return False

    async def hash(self, password: str) -> str:
        """The encoded ``$argon2id$...`` hash of ``password``."""
        return await asyncio.to_thread(self.hash_sync, password)

    async def verify(self, encoded: str, password: str) -> bool:
        """True when ``password`` matches; never raises for a wrong or malformed hash."""
        return await asyncio.to_thread(self.verify_sync, encoded, password)

    def needs_rehash(self, encoded: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(encoded)
        except InvalidHashError:
            return True

    async def dummy_verify(self, password: str) -> None:
        """Spend the time of one verification, so an unknown user name is not told apart
        from a wrong password by response time."""
        await asyncio.to_thread(self.verify_sync, self._dummy(), password)

    def _dummy(self) -> str:
        cached: str | None = getattr(self, "_dummy_hash", None)
        if cached is None:
            cached = self._hasher.hash("not a password of anyone")
            self._dummy_hash = cached
        return cached
