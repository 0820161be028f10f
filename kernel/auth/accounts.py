"""Users, logins and sessions over the store (R23), shared by the API and ``pinchpoint user``.

Sessions are server-side rows keyed by the SHA-256 of a random cookie token. A session ends
``idle`` after its last use and ``absolute`` after login, whichever comes first; the user's
role and enabled flag are read on every request, so disabling a user or changing a role takes
effect at once. Each session carries its own CSRF token (a synchronizer token: the PWA reads
it from the login response or ``/api/auth/me`` and echoes it in ``X-CSRF-Token``).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec

from kernel.auth.lockout import LockoutPolicy, after_failure, locked_for, stale
from kernel.auth.passwords import PasswordPoolBusy, Passwords, check_policy
from kernel.auth.roles import ROLES, Role
from kernel.clock import Clock
from kernel.domain.records import LoginFailures, SessionRecord, UserRecord
from kernel.errors import PinchpointError, StorageFault
from kernel.protocols.store import Store


class AccountError(PinchpointError):
    """A refused account operation (unknown user, duplicate name, weak password)."""

    exit_code = 5


class LastAdminRefused(AccountError):
    """Disabling the last enabled admin: an install with no admin account could no longer be
    administered from the app (users, unlocks), so the change is refused whoever asks."""


@dataclass(frozen=True)
class Session:
    """An authenticated request's identity."""

    id: str
    user: str
    role: Role
    csrf: str
    token: str = ""  # the raw cookie value: known only right after login
    device_id: str | None = None
    """The enrolled device the session belongs to (:mod:`kernel.auth.devices`), if any."""


class UserStatus(msgspec.Struct, kw_only=True, frozen=True):
    """What an admin sees of an account (R23): never its password hash. ``failures`` and
    ``locked_until`` are the account's stored count and lock (over all clients);
    ``throttled_clients`` how many clients this process now refuses for the name."""

    name: str
    role: Role
    enabled: bool
    created_at: datetime
    created_by: str
    password_changed_at: datetime
    failures: int
    locked_until: datetime | None
    throttled_clients: int


@dataclass(frozen=True)
class LoginResult:
    """``session`` on success; else ``locked_for`` > 0 when the name is locked, and
    ``known`` whether the name exists (for the audit row only, never for the client).
    ``audit``: whether this attempt gets its own audit row — always for a known name; for
    unknown names one row per :data:`UNKNOWN_AUDIT_EVERY`, carrying ``folded``, the number of
    unknown-name failures since the previous such row (an anonymous flood of made-up names
    must not grow the audit log without bound, R19)."""

    session: Session | None
    locked_for: float = 0.0
    known: bool = False
    audit: bool = True
    folded: int = 0


UNKNOWN_NAMES_MAX = 1024
"""How many names that are not accounts have their failures (and locks) remembered, in
memory only: the oldest is forgotten first. Failures for names that do not exist are never
written to the store (issue 12: they grew ``login_failures`` without bound), yet such a name
still locks like a real one, so lockout does not reveal which names are real."""

THROTTLE_ENTRIES_MAX = 4096
"""How many (client, name) and how many client failure counts are kept in memory each; the
oldest is forgotten first."""

UNKNOWN_AUDIT_EVERY = timedelta(minutes=1)
"""Unknown-name failures are audited as one row per this interval (with the count folded in)."""


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def valid_name(name: str) -> bool:
    return 1 <= len(name) <= 64 and all(c.isalnum() or c in "._-@" for c in name)


class Accounts:
    """User administration, login with lockout, session resolution with expiry."""

    def __init__(self, store: Store, clock: Clock, passwords: Passwords,
                 idle: timedelta = timedelta(minutes=30),
                 absolute: timedelta = timedelta(hours=12),
                 lockout: LockoutPolicy | None = None,
                 unknown_names_max: int = UNKNOWN_NAMES_MAX,
                 client_lockout: LockoutPolicy | None = None,
                 account_lockout: LockoutPolicy | None = None) -> None:
        """``lockout``: per (client, name); ``client_lockout``: per client over all names
        (default: 4 × ``lockout.after``); ``account_lockout``: per account, applied only to
        clients that failed for it (default: 20 × ``lockout.after``). See
        :mod:`kernel.auth.lockout`."""
        self.store = store
        self.clock = clock
        self.passwords = passwords
        self.idle = idle
        self.absolute = absolute
        self.lockout = lockout or LockoutPolicy()
        base = self.lockout
        self.client_lockout = client_lockout or LockoutPolicy(
            after=4 * base.after, base=base.base, maximum=base.maximum)
        self.account_lockout = account_lockout or LockoutPolicy(
            after=20 * base.after, base=base.base, maximum=base.maximum)
        self.throttle_entries_max = THROTTLE_ENTRIES_MAX
        self._pairs: OrderedDict[tuple[str, str], LoginFailures] = OrderedDict()
        """Failures per (client, name): memory only, bounded."""
        self._clients: OrderedDict[str, LoginFailures] = OrderedDict()
        """Failures per client over all names: memory only, bounded."""
        self._unlocks_applied: dict[str, datetime] = {}
        # Writing last_seen on every request would fsync per request; a coarse step suffices
        # because idle expiry is measured in minutes.
        self.touch_step = min(timedelta(seconds=15), idle / 4)
        self.unknown_names_max = unknown_names_max
        self._unknown: OrderedDict[str, LoginFailures] = OrderedDict()
        """Failures of names that are not (enabled) accounts: memory only, bounded."""
        self._unknown_audited_at: datetime | None = None
        self._unknown_folded = 0

    # administration -----------------------------------------------------------------------
    async def add_user(self, name: str, role: str, password: str, actor: str) -> UserRecord:
        if not valid_name(name):
            raise AccountError("a user name has 1-64 letters, digits or . _ - @")
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}")
        check_policy(password, name)
        encoded = await self.passwords.hash(password)
        now = self.clock.now()
        rec = UserRecord(name=name, role=role, password_hash=encoded, enabled=True,
                         created_at=now, created_by=actor, password_changed_at=now)
        async with self.store.transaction() as tx:
            if await tx.accounts.get(name) is not None:
                raise AccountError(f"user {name!r} exists already")
            await tx.accounts.insert(rec)
        return rec

    async def _load(self, name: str) -> UserRecord:
        async with self.store.transaction() as tx:
            rec = await tx.accounts.get(name)
        if rec is None:
            raise AccountError(f"no user {name!r}")
        return rec

    async def set_password(self, name: str, password: str) -> int:
        """Change a password (under :func:`~kernel.auth.passwords.check_policy`, hashed in the
        password pool); every session of the user ends. Returns how many ended."""
        check_policy(password, name)
        encoded = await self.passwords.hash(password)
        async with self.store.transaction() as tx:
            rec = await tx.accounts.get(name)
            if rec is None:
                raise AccountError(f"no user {name!r}")
            rec.password_hash, rec.password_changed_at = encoded, self.clock.now()
            await tx.accounts.update(rec)
            ended = await tx.sessions.delete_for_user(name)
            await tx.accounts.clear_login_failures(name)
        return ended

    async def set_enabled(self, name: str, enabled: bool) -> int:
        """Disable (ending every session: an open live feed ends at its next event) or
        re-enable a user. Disabling the last enabled admin is refused
        (:class:`LastAdminRefused`), by the API and the CLI alike. Returns how many sessions
        ended."""
        async with self.store.transaction() as tx:
            rec = await tx.accounts.get(name)
            if rec is None:
                raise AccountError(f"no user {name!r}")
            if not enabled and rec.enabled and rec.role == "admin" and not any(
                    u.enabled and u.role == "admin" and u.name != name
                    for u in await tx.accounts.all()):
                raise LastAdminRefused(
                    f"{name!r} is the last enabled admin: add or enable another admin first "
                    "(an install with no admin cannot be administered)")
            rec.enabled = enabled
            await tx.accounts.update(rec)
            return 0 if enabled else await tx.sessions.delete_for_user(name)

    async def end_sessions(self, name: str) -> int:
        """End every session of ``name`` (a lost or stolen device): the user must log in
        again; an open live feed of theirs ends at its next event. Returns how many ended."""
        async with self.store.transaction() as tx:
            if await tx.accounts.get(name) is None:
                raise AccountError(f"no user {name!r}")
            return await tx.sessions.delete_for_user(name)

    async def list_users(self) -> list[UserRecord]:
        async with self.store.transaction() as tx:
            return await tx.accounts.all()

    async def statuses(self) -> list[UserStatus]:
        """Every account as an admin sees it, by name: role, enabled, and its locks."""
        now = self.clock.now()
        async with self.store.transaction() as tx:
            users = await tx.accounts.all()
            stored = {u.name: await tx.accounts.get_login_failures(u.name) for u in users}
        out = []
        for u in sorted(users, key=lambda u: u.name):
            fail = stored[u.name]
            clients = sum(1 for (_, n), r in self._pairs.items()
                          if n == u.name and locked_for(r, now) > 0)
            out.append(UserStatus(
                name=u.name, role=u.role, enabled=u.enabled, created_at=u.created_at,
                created_by=u.created_by, password_changed_at=u.password_changed_at,
                failures=fail.failures if fail else 0,
                locked_until=fail.locked_until if fail and locked_for(fail, now) > 0 else None,
                throttled_clients=clients))
        return out

    # login ----------------------------------------------------------------------------------
    async def login(self, name: str, password: str, client: str = "unknown",
                    device_id: str | None = None) -> LoginResult:
        """Check the password unless ``client`` is throttled for ``name``; count failures
        (R23, issue 12 finding 1). ``client`` is :func:`kernel.auth.lockout.client_key` of the
        peer. Three counts (:mod:`kernel.auth.lockout`): per (client, name), per client, and
        per account — the account's stored (a name that is no account: in memory, bounded by
        :data:`UNKNOWN_NAMES_MAX`, locking all the same) and applied only to clients that
        failed for it. Raises :class:`~kernel.auth.passwords.PasswordPoolBusy` (nothing
        counted) when the password pool is full. ``device_id``: the enrolled device the new
        session belongs to (:meth:`kernel.auth.devices.Devices.for_login` checked it is the
        user's)."""
        now = self.clock.now()
        async with self.store.transaction() as tx:
            stored = await tx.accounts.get_login_failures(name)
            user = await tx.accounts.get(name)
        known = user is not None and user.enabled
        account = stored if user is not None else self._unknown.get(name)
        if account is not None and account.failures == 0:  # an unlock, maybe by the CLI
            self._apply_unlock(name, account.last_failure_at)
        pair = self._fresh(self._pairs, (client, name), now, self.lockout)
        per_client = self._fresh(self._clients, client, now, self.client_lockout)
        wait = self._wait(pair, per_client, account, now)
        if wait > 0:
            return LoginResult(None, locked_for=wait, known=known,
                               **self._audit_unknown(now, user is not None))
        # A client with no recent failure may take the password pool's reserved place: in a
        # flood every attacker's client has failed, so the real user's first try gets in.
        clean = pair is None and per_client is None
        if user is None or not user.enabled:
            await self.passwords.dummy_verify(password, clean=clean)
            ok = False
        else:
            ok = await self.passwords.verify(user.password_hash, password, clean=clean)
        now = self.clock.now()
        if not ok or user is None:
            pair = self._remember(self._pairs, (client, name), after_failure(
                self._pairs.pop((client, name), None), name, now, self.lockout),
                self.throttle_entries_max)
            per_client = self._remember(self._clients, client, after_failure(
                self._clients.pop(client, None), client, now, self.client_lockout),
                self.throttle_entries_max)
            if user is None:
                account = self._remember(self._unknown, name, after_failure(
                    self._unknown.pop(name, None), name, now, self.account_lockout),
                    self.unknown_names_max)
            else:  # a real account (enabled or not): its count survives a restart
                async with self.store.transaction() as tx:
                    account = after_failure(await tx.accounts.get_login_failures(name), name,
                                            now, self.account_lockout)
                    await tx.accounts.put_login_failures(account)
            return LoginResult(None, locked_for=self._wait(pair, per_client, account, now),
                               known=known, **self._audit_unknown(now, user is not None))
        token = secrets.token_urlsafe(32)
        session = SessionRecord(id=token_id(token), user=user.name,
                                csrf=secrets.token_urlsafe(32), created_at=now,
                                last_seen_at=now, device_id=device_id)
        rehash = self.passwords.needs_rehash(user.password_hash)
        self._pairs.pop((client, name), None)
        async with self.store.transaction() as tx:
            await tx.accounts.clear_login_failures(name)
            await tx.sessions.insert(session)
            # expired sessions of anyone are swept at each login: no separate janitor
            await tx.sessions.delete_before(now - self.absolute, now - self.idle)
        if rehash:
            with contextlib.suppress(PasswordPoolBusy):  # upgraded at a quieter login
                await self.set_password_hash(user.name, await self.passwords.hash(password))
        return LoginResult(Session(id=session.id, user=user.name, role=user.role,
                                   csrf=session.csrf, token=token, device_id=device_id),
                           known=True)

    @staticmethod
    def _wait(pair: LoginFailures | None, per_client: LoginFailures | None,
              account: LoginFailures | None, now: datetime) -> float:
        """Seconds this client must wait: its own locks, and the account's lock only if the
        client has failed for this account (``pair``)."""
        wait = max(locked_for(pair, now), locked_for(per_client, now))
        if pair is not None:
            wait = max(wait, locked_for(account, now))
        return wait

    @staticmethod
    def _fresh(table: OrderedDict[Any, LoginFailures], key: Any, now: datetime,
               policy: LockoutPolicy) -> LoginFailures | None:
        rec = table.get(key)
        if stale(rec, now, policy):
            del table[key]
            return None
        return rec

    @staticmethod
    def _remember(table: OrderedDict[Any, LoginFailures], key: Any, rec: LoginFailures,
                  bound: int) -> LoginFailures:
        table[key] = rec
        while len(table) > bound:
            table.popitem(last=False)
        return rec

    def _apply_unlock(self, name: str, at: datetime) -> None:
        """Forget every client's failures for ``name`` up to the unlock at ``at`` (once)."""
        if self._unlocks_applied.get(name) == at:
            return
        self._unlocks_applied[name] = at
        for key in [k for k, r in self._pairs.items()
                    if k[1] == name and r.last_failure_at <= at]:
            del self._pairs[key]

    async def unlock(self, name: str) -> int:
        """Clear every failure count and lock of the account ``name`` (an admin's action,
        audited by the caller): the stored count becomes an unlock marker (0 failures at the
        unlock time), so a server process that did not make the call (``pinchpoint user
        unlock``) forgets its clients' counts for the name at that name's next login.
        Sessions are untouched. Returns the failures the account had."""
        now = self.clock.now()
        async with self.store.transaction() as tx:
            if await tx.accounts.get(name) is None:
                raise AccountError(f"no user {name!r}")
            before = await tx.accounts.get_login_failures(name)
            await tx.accounts.put_login_failures(LoginFailures(
                name=name, failures=0, last_failure_at=now, locked_until=None))
        self._apply_unlock(name, now)
        return before.failures if before else 0

    def _audit_unknown(self, now: datetime, account: bool) -> dict[str, Any]:
        """Whether a failed attempt gets an audit row: an account's always; names that are
        no account, one row per :data:`UNKNOWN_AUDIT_EVERY` with the failures folded in."""
        if account:
            return {"audit": True, "folded": 0}
        self._unknown_folded += 1
        last = self._unknown_audited_at
        if last is not None and now - last < UNKNOWN_AUDIT_EVERY:
            return {"audit": False, "folded": 0}
        folded, self._unknown_folded, self._unknown_audited_at = self._unknown_folded, 0, now
        return {"audit": True, "folded": folded}

    async def set_password_hash(self, name: str, encoded: str) -> None:
        async with self.store.transaction() as tx:
            rec = await tx.accounts.get(name)
            if rec is not None:
                rec.password_hash = encoded
                await tx.accounts.update(rec)

    async def create_session(self, name: str) -> Session:
        """A session for ``name`` without a password (tests, and the CLI's own use)."""
        user = await self._load(name)
        token = secrets.token_urlsafe(32)
        now = self.clock.now()
        rec = SessionRecord(id=token_id(token), user=name, csrf=secrets.token_urlsafe(32),
                            created_at=now, last_seen_at=now)
        async with self.store.transaction() as tx:
            await tx.sessions.insert(rec)
        return Session(id=rec.id, user=name, role=user.role, csrf=rec.csrf, token=token)

    async def resolve(self, token: str) -> Session | None:
        """The live session of a cookie token, or ``None`` (unknown, expired, user disabled).
        An expired session is deleted."""
        if not token or len(token) > 200:
            return None
        sid = token_id(token)
        now = self.clock.now()
        async with self.store.transaction() as tx:
            rec = await tx.sessions.get(sid)
            if rec is None:
                return None
            user = await tx.accounts.get(rec.user)
            expired = (now - rec.created_at >= self.absolute
                       or now - rec.last_seen_at >= self.idle)
            if expired or user is None or not user.enabled:
                await tx.sessions.delete(sid)
                return None
            touch = now - rec.last_seen_at >= self.touch_step
        if touch:
            # Its own transaction: while a storage fault refuses writes, an existing session
            # still works (its idle clock is not advanced meanwhile; issue 12, finding 7).
            try:
                async with self.store.transaction() as tx:
                    await tx.sessions.touch(sid, now)
                    if rec.device_id is not None:  # the device list's "last seen"
                        device = await tx.devices.get(rec.device_id)
                        if device is not None:
                            device.last_seen_at = now
                            await tx.devices.update(device)
            except StorageFault:
                pass
        return Session(id=sid, user=user.name, role=user.role, csrf=rec.csrf,
                       device_id=rec.device_id)

    async def logout(self, session_id: str) -> None:
        async with self.store.transaction() as tx:
            await tx.sessions.delete(session_id)


def csrf_ok(session: Session, header: str | None) -> bool:
    """Constant-time check of the ``X-CSRF-Token`` header against the session's token."""
    return bool(header) and hmac.compare_digest(session.csrf.encode(), (header or "").encode())
