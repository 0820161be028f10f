"""Argon2id password hashing (R23) through argon2-cffi.

Hashing is deliberately slow and memory-hard, so it runs in its own small pool
(:class:`PasswordPool`: by default one thread named ``pinchpoint-argon2`` and a short admission
queue), never on the event loop, never in the face engine's executor and never in the loop's
default executor. A login flood therefore costs at most the pool's threads: once the pool and
its queue are full, :class:`PasswordPoolBusy` is raised at once (the API answers 503 with
``Retry-After``) instead of piling up (issue 12, finding 2).

The encoded hash carries its own parameters, so raising the cost later still
verifies old hashes (and :meth:`Passwords.needs_rehash` says when to upgrade one).
"""

from __future__ import annotations

import asyncio
import string
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from kernel.auth.common_passwords import COMMON
from kernel.errors import PinchpointError

T = TypeVar("T")

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


class PasswordPoolBusy(PinchpointError):
    """Every password thread and queue place is taken: try again shortly (``retry_after``)."""

    exit_code = 5

    def __init__(self, retry_after: int = 1) -> None:
        super().__init__("too many logins at once; try again in a moment")
        self.retry_after = retry_after


POOL_THREAD = "pinchpoint-argon2"
"""Name prefix of the password pool's threads (tests check verification runs there)."""


class PasswordPool:
    """The bounded pool Argon2id runs in: ``workers`` threads and at most ``queue`` jobs
    waiting. A job beyond ``workers + queue`` is refused at once with
    :class:`PasswordPoolBusy` (never waits: a waiting login is the pile-up this prevents).
    A place is released when the job ends in its thread, not when the caller stops waiting,
    so a client that hangs up cannot make room for more work than the pool can run.

    ``reserved`` more places take only *clean* jobs (``run(..., clean=True)``): the login of
    a client with no recent failure. In a flood the attackers' clients have all failed, so
    they fill the shared places and never these: the operator's fresh login is admitted
    instead of racing twenty attackers for a free place (a fresh-clone CI run saw it refused
    503 for a whole 10 s flood window on a loaded machine, with no reserved place)."""

    def __init__(self, workers: int = 1, queue: int = 4, reserved: int = 1) -> None:
        if workers < 1 or queue < 0 or reserved < 0:
            raise ValueError("a password pool needs workers >= 1, queue >= 0, reserved >= 0")
        self.workers, self.queue, self.reserved = workers, queue, reserved
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=POOL_THREAD)
        self._lock = threading.Lock()
        self._admitted = 0

    @property
    def admitted(self) -> int:
        """Jobs running or waiting now."""
        return self._admitted

    def _release(self, _: Future[Any]) -> None:
        with self._lock:
            self._admitted -= 1

    async def run(self, fn: Callable[..., T], *args: object, clean: bool = False) -> T:
        """Run ``fn(*args)`` in a pool thread; ``clean`` may take a reserved place."""
        with self._lock:
            places = self.workers + self.queue + (self.reserved if clean else 0)
            if self._admitted >= places:
                raise PasswordPoolBusy()
            self._admitted += 1
        try:
            fut: Future[T] = self._pool.submit(fn, *args)
        except BaseException:
            with self._lock:
                self._admitted -= 1
            raise
        fut.add_done_callback(self._release)
        return await asyncio.wrap_future(fut)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class Passwords:
    """Argon2id hashing with configurable cost, run in a :class:`PasswordPool`. One lane
    (``parallelism`` = 1) by default: every lane is a thread, so one lane keeps a hash to the
    pool's one thread."""

    def __init__(self, time_cost: int = 3, memory_kib: int = 65536, parallelism: int = 1,
                 pool: PasswordPool | None = None) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib,
                                      parallelism=parallelism, type=Type.ID)
        self.pool = pool or PasswordPool()

    def hash_sync(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify_sync(self, encoded: str, password: str) -> bool:
        try:
            return self._hasher.verify(encoded, password)
        except (VerificationError, InvalidHashError):
            return False

    async def hash(self, password: str) -> str:
        """The encoded ``$argon2id$...`` hash of ``password``."""
        return await self.pool.run(self.hash_sync, password)

    async def verify(self, encoded: str, password: str, clean: bool = False) -> bool:
        """True when ``password`` matches; never raises for a wrong or malformed hash.
        ``clean``: the login of a client with no recent failure (:class:`PasswordPool`)."""
        return await self.pool.run(self.verify_sync, encoded, password, clean=clean)

    def needs_rehash(self, encoded: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(encoded)
        except InvalidHashError:
            return True

    async def dummy_verify(self, password: str, clean: bool = False) -> None:
        """Spend the time of one verification, so an unknown user name is not told apart
        from a wrong password by response time (nor by admission: ``clean`` as in
        :meth:`verify`)."""
        await self.pool.run(self._dummy_verify_sync, password, clean=clean)

    def _dummy_verify_sync(self, password: str) -> None:
        self.verify_sync(self._dummy(), password)

    def _dummy(self) -> str:
        cached: str | None = getattr(self, "_dummy_hash", None)
        if cached is None:
            cached = self._hasher.hash("not a password of anyone")
            self._dummy_hash = cached
        return cached
