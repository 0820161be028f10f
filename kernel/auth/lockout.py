"""Login lockout with backoff (R23), as a pure rule over the stored failure count.

After ``after`` consecutive failures the name is locked for ``base`` seconds; every further
failure (each one possible only once the lock has passed) doubles the lock, up to ``maximum``.
A successful login clears the count. Locks apply to names that do not exist too, so lockout
does not reveal which names are real.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from kernel.domain.records import LoginFailures


class LockoutPolicy(msgspec.Struct, frozen=True, kw_only=True):
    after: int = 5
    base: float = 30.0
    maximum: float = 3600.0


def lock_seconds(failures: int, policy: LockoutPolicy) -> float:
    """How long ``failures`` consecutive failures lock the name for (0: not locked)."""
    if failures < policy.after:
        return 0.0
    return float(min(policy.maximum, policy.base * 2 ** (failures - policy.after)))


def after_failure(previous: LoginFailures | None, name: str, now: datetime,
                  policy: LockoutPolicy) -> LoginFailures:
    """The failure record once one more failure happened at ``now``."""
    failures = (previous.failures if previous else 0) + 1
    seconds = lock_seconds(failures, policy)
    locked_until = now + timedelta(seconds=seconds) if seconds else None
    return LoginFailures(name=name, failures=failures, last_failure_at=now,
                         locked_until=locked_until)


def locked_for(rec: LoginFailures | None, now: datetime) -> float:
    """Seconds until ``rec``'s lock passes (0 when not locked)."""
    if rec is None or rec.locked_until is None or rec.locked_until <= now:
        return 0.0
    return (rec.locked_until - now).total_seconds()
