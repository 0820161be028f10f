"""Argon2id password hashing (R23) through argon2-cffi.

Hashing is deliberately slow and memory-hard, so it runs in a worker thread, never on the
event loop. The encoded hash carries its own parameters, so raising the cost later still
verifies old hashes (and :meth:`Passwords.needs_rehash` says when to upgrade one).
"""

from __future__ import annotations

import asyncio
import string

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from kernel.auth.common_passwords import COMMON
from kernel.errors import PinchpointError

MIN_LENGTH = 10
MAX_LENGTH = 1024


class WeakPassword(PinchpointError, ValueError):
    """A password refused by :func:`check_policy`; the message says why."""

    exit_code = 2


MIN_DISTINCT = 4
"""Different non-space characters a password needs (``aaaaaaaaaa``, ``ababababab`` fail)."""

_SEQUENCES = ("abcdefghijklmnopqrstuvwxyz", "0123456789", "qwertyuiopasdfghjklzxcvbnm",
              "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p", "1q2w3e4r5t6y7u8i9o0p",
              "azertyuiopqsdfghjklmwxcvbn", "qwertzuiopasdfghjklyxcvbnm")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a",
                       "$": "s", "!": "i", "|": "l", "+": "t"})
_PADDING = string.digits + string.punctuation + string.whitespace


def stem(password: str) -> str:
    """What a password is compared with the common list as: case folded, spaces removed,
    digits and symbols stripped off both ends, common substitutions undone
    (``P@ssw0rd 2024!`` → ``password``)."""
    folded = "".join(password.casefold().split())
    return folded.strip(_PADDING).translate(_LEET)


def _is_sequence(folded: str) -> bool:
    """A run along the alphabet, the digits or a keyboard row, either way round."""
    return any(folded in (seq * 3) or folded in (seq[::-1] * 3) for seq in _SEQUENCES)


def check_policy(password: str, name: str | None = None) -> None:
    """Refuse a weak password, saying why (R23). The rules (NIST SP 800-63B's: length and a
    blocklist, no composition rules):

    - at least :data:`MIN_LENGTH` characters (at most :data:`MAX_LENGTH`: a hashing-cost
      attack), and at least :data:`MIN_DISTINCT` different non-space characters — so not all
      one character, not all whitespace, not ``abababab…``;
    - not the user name, and not containing it (names of 4 or more characters), in any case;
    - not a run along the alphabet, the digits or a keyboard row (``qwertyuiop``);
    - not a common password: neither the password nor its :func:`stem` is in the shipped
      list (:mod:`kernel.auth.common_passwords`).
    """
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"a password may have at most {MAX_LENGTH} characters")
    folded = "".join(password.casefold().split())
    if len(set(folded)) < MIN_DISTINCT:
        raise WeakPassword(f"a password needs at least {MIN_DISTINCT} different characters "
                           "besides spaces")
    if name:
        user = name.casefold()
        if folded == user or password.casefold() == user or (
                len(user) >= 4 and (user in folded or user in stem(password))):
            raise WeakPassword("a password must not be or contain the user name")
    if _is_sequence(folded):
        raise WeakPassword("a password must not be a run of the alphabet, digits or keyboard")
    base = stem(password)
    if folded in COMMON or base in COMMON or folded.translate(_LEET) in COMMON:
        raise WeakPassword("that password is one of the most common ones; choose another "
                           "(a few unrelated words make a strong one)")


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
