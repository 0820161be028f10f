"""Login lockout with backoff (R23), as a pure rule over a failure count.

After ``after`` consecutive failures the key is locked for ``base`` seconds; every further
failure (each one possible only once the lock has passed) doubles the lock, up to ``maximum``.
:class:`kernel.auth.accounts.Accounts` keeps three such counts (issue 12, finding 1: a count
per account alone let any anonymous client lock the operator out):

- per (client address, name): the lock a client earns by guessing one account's password;
  it locks that client for that name only;
- per client address, over all names: a client spraying many names is locked for all;
- per account (stored, so it survives a restart), with a much higher ceiling: once reached,
  it locks the account only for clients that have themselves failed for it. A client that
  never failed — the real user on their own device — still logs in.

Locks apply to names that do not exist too, so lockout does not reveal which names are real.
"""

from __future__ import annotations

import ipaddress
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


def client_key(host: str | None) -> str:
    """What failures are counted per: the peer's IPv4 address, or its IPv6 /64 network (one
    host holds a whole /64, so counting single IPv6 addresses would count nothing)."""
    if not host:
        return "unknown"
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.ip_network(f"{addr}/64", strict=False))
    return str(addr)


def stale(rec: LoginFailures | None, now: datetime, policy: LockoutPolicy) -> bool:
    """A count kept in memory is forgotten once its lock has passed and it saw no failure for
    ``policy.maximum`` seconds (a shared desk PC must not collect typos for ever)."""
    return rec is not None and locked_for(rec, now) == 0 and (
        now - rec.last_failure_at).total_seconds() >= policy.maximum
