"""Officers' enrolled devices (issue 14, R19, R23): one-time enrolment codes, the device
identity a tablet gets with one, and revoking a lost tablet.

An admin or the technical lead issues a code for one officer on the console; it is shown once,
stored only as its SHA-256, lives :data:`CODE_TTL` and is deleted when it is used (whether the
attempt succeeds or not: a code is tried once). Entering it on the tablet enrols the device:
a :class:`~kernel.domain.records.DeviceRecord`, a session of the officer that belongs to the
device, and a device cookie (its hash stored) that binds the officer's later password logins
on that tablet to the same device. Wrong codes are throttled per client with the login
lockout's backoff (:mod:`kernel.auth.lockout`), in memory and bounded.

Revoking a device ends its sessions and deletes its Web Push subscriptions in one transaction
with its audit row, then deletes its broker account (which also cuts its open MQTT
connection). The device row stays, marked revoked, so the list shows what was revoked, when
and by whom; its cookie no longer binds anything.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import msgspec

from kernel.auth.accounts import AccountError, Accounts, Session, token_id
from kernel.auth.lockout import LockoutPolicy, after_failure, locked_for, stale
from kernel.clock import Clock
from kernel.delivery.broker_accounts import BrokerAccountError, BrokerAccounts
from kernel.domain import audit
from kernel.domain.deployments import load
from kernel.domain.errors import NotFound, TransitionRefused
from kernel.domain.records import (
    DeliveryPath,
    DeviceRecord,
    EnrolmentCodeRecord,
    LoginFailures,
    SessionRecord,
)
from kernel.protocols.store import Store

CODE_ALPHABET: Final = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
"""32 symbols without 0/O, 1/I: read off a console and typed on a tablet."""
CODE_LENGTH: Final = 8
"""40 bits: with the per-client throttle, guessing a live code in its life is hopeless."""
CODE_TTL: Final = timedelta(minutes=10)
THROTTLE_MAX: Final = 4096
"""Clients whose failed codes are remembered (the oldest forgotten first)."""


class EnrolmentRefused(AccountError):
    """A code that is wrong, used, expired or issued for an account no longer enabled: one
    answer for all, so a guesser learns nothing."""


class EnrolmentThrottled(AccountError):
    """This client failed too many codes; ``retry_after`` seconds until it may try again."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many wrong enrolment codes; try again in {int(retry_after + 1)} s")
        self.retry_after = retry_after


class IssuedCode(msgspec.Struct, kw_only=True, frozen=True):
    """A code as the console shows it, once (``XXXX-XXXX``); only its hash is kept."""

    code: str
    user: str
    label: str
    expires_at: datetime


class DeviceStatus(msgspec.Struct, kw_only=True, frozen=True):
    """A device as the device list shows it: no token, no push keys, no password."""

    id: str
    user: str
    label: str
    enrolled_by: str
    enrolled_at: datetime
    last_seen_at: datetime
    app_version: str
    delivery: DeliveryPath
    web_push: int
    """Web Push subscriptions of the device (a wake-up beside ``delivery``)."""
    revoked_at: datetime | None
    revoked_by: str | None


class Revoked(msgspec.Struct, kw_only=True, frozen=True):
    """What revoking did. ``mqtt_revoked`` false: the broker could not be reached (the
    revocation stands; revoke again to retry the broker)."""

    device_id: str
    sessions_ended: int
    push_deleted: int
    mqtt_revoked: bool


@dataclass(frozen=True)
class Enrolled:
    """A device just enrolled: its record, its first session, and the raw device cookie
    (known only now)."""

    device: DeviceRecord
    session: Session
    device_token: str


def normalise(code: str) -> str:
    """The code as typed (any case, spaces or dashes) in its canonical form."""
    return "".join(c for c in code.upper() if c not in " -")


def code_hash(code: str) -> str:
    return hashlib.sha256(normalise(code).encode()).hexdigest()


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


class Devices:
    """Enrolment codes, device enrolment, the device list and revocation."""

    def __init__(self, store: Store, clock: Clock, broker: BrokerAccounts | None = None,
                 code_ttl: timedelta = CODE_TTL, throttle: LockoutPolicy | None = None) -> None:
        """``broker``: officers' MQTT accounts (``None``: MQTT not set up, nothing to
        delete there); ``throttle``: wrong codes per client (default 5, then 30 s doubling up
        to an hour)."""
        self.store = store
        self.clock = clock
        self.broker = broker
        self.code_ttl = code_ttl
        self.throttle = throttle or LockoutPolicy(after=5, base=30.0, maximum=3600.0)
        self._failures: OrderedDict[str, LoginFailures] = OrderedDict()

    async def issue_code(self, officer: str, label: str, actor: str) -> IssuedCode:
        """A one-time code enrolling a device of ``officer`` (an enabled officer account:
        :class:`AccountError` otherwise). Audited ``device.code_issued``."""
        now = self.clock.now()
        code = new_code()
        rec = EnrolmentCodeRecord(code_hash=code_hash(code), user=officer, label=label[:64],
                                  issued_by=actor, issued_at=now, expires_at=now + self.code_ttl)
        async with self.store.transaction() as tx:
            user = await tx.accounts.get(officer)
            if user is None or not user.enabled or user.role != "officer":
                raise AccountError(f"{officer!r} is not an enabled officer account: devices are "
                                   "enrolled for officers")
            await tx.devices.delete_codes_before(now)
            await tx.devices.put_code(rec)
            await audit.append(tx, self.clock, actor, "device.code_issued", {"user": officer},
                               {"expires_s": int(self.code_ttl.total_seconds())})
        return IssuedCode(code=code, user=officer, label=rec.label, expires_at=rec.expires_at)

    async def enrol(self, code: str, app_version: str, client: str) -> Enrolled:
        """Enrol the device presenting ``code``: :class:`EnrolmentThrottled` while ``client``
        is throttled, :class:`EnrolmentRefused` for a wrong, used or expired code (counted
        and audited ``device.enrol_failed``). Audited ``device.enrol``."""
        now = self.clock.now()
        failures = self._failures.get(client)
        if stale(failures, now, self.throttle):
            del self._failures[client]
            failures = None
        wait = locked_for(failures, now)
        if wait > 0:
            raise EnrolmentThrottled(wait)
        digest = code_hash(code) if 1 <= len(normalise(code)) <= 32 else ""
        token = secrets.token_urlsafe(32)
        device_token = secrets.token_urlsafe(32)
        async with self.store.transaction() as tx:
            found = await tx.devices.take_code(digest) if digest else None
            user = None if found is None else await tx.accounts.get(found.user)
            if (found is None or found.expires_at <= now or user is None or not user.enabled
                    or user.role != "officer"):
                reason = ("unknown" if found is None else
                          "expired" if found.expires_at <= now else "account")
                await audit.append(tx, self.clock, "unknown", "device.enrol_failed", None,
                                   {"client": client, "reason": reason})
                failed = True
            else:
                failed = False
                device = DeviceRecord(id=f"dev-{secrets.token_hex(8)}", user=found.user,
                                      label=found.label, token_hash=token_id(device_token),
                                      enrolled_by=found.issued_by, enrolled_at=now,
                                      last_seen_at=now, app_version=app_version[:40])
                await tx.devices.insert(device)
                session = SessionRecord(id=token_id(token), user=found.user,
                                        csrf=secrets.token_urlsafe(32), created_at=now,
                                        last_seen_at=now, device_id=device.id)
                await tx.sessions.insert(session)
                await audit.append(tx, self.clock, found.user, "device.enrol",
                                   {"device": device.id, "user": found.user},
                                   {"issued_by": found.issued_by, "client": client})
        if failed:
            self._failures[client] = after_failure(self._failures.pop(client, None), client, now,
                                                   self.throttle)
            while len(self._failures) > THROTTLE_MAX:
                self._failures.popitem(last=False)
            raise EnrolmentRefused("this enrolment code is not valid (wrong, used or expired); "
                                   "ask for a new one")
        self._failures.pop(client, None)
        assert user is not None
        return Enrolled(device=device, device_token=device_token,
                        session=Session(id=session.id, user=user.name, role=user.role,
                                        csrf=session.csrf, token=token, device_id=device.id))

    async def for_login(self, device_token: str, user: str) -> str | None:
        """The id of the live (not revoked) device whose cookie is ``device_token``, when it
        is ``user``'s: their password login on it then belongs to the device."""
        if not device_token or len(device_token) > 200:
            return None
        async with self.store.transaction() as tx:
            device = await tx.devices.by_token(token_id(device_token))
        if device is None or device.revoked_at is not None or device.user != user:
            return None
        return device.id

    async def report(self, device_id: str, delivery: DeliveryPath | None,
                     app_version: str | None, deployment_id: str | None = None) -> bool:
        """The device says how it takes its alerts now, which app it runs and the live
        deployment whose alerts it takes (its receipts are accepted for those only:
        :mod:`kernel.domain.receipts`), and so was seen; its session's requests also move
        ``last_seen_at``, as :meth:`~kernel.auth.accounts.Accounts.resolve` touches the
        session. ``False`` for an unknown or revoked device; :class:`NotFound` for an
        unknown deployment, :class:`TransitionRefused` for one not live."""
        async with self.store.transaction() as tx:
            device = await tx.devices.get(device_id)
            if device is None or device.revoked_at is not None:
                return False
            if deployment_id is not None:
                dep = await load(tx, deployment_id)
                if dep.state != "live":
                    raise TransitionRefused(f"deployment {dep.id} is {dep.state}; a device "
                                            "takes the alerts of a live deployment")
                device.deployment_id = dep.id
            device.last_seen_at = self.clock.now()
            if delivery is not None:
                device.delivery = delivery
            if app_version is not None:
                device.app_version = app_version[:40]
            await tx.devices.update(device)
        return True

    async def alarm(self, user: str, device_id: str | None, muted: bool) -> None:
        """The officer ``user`` muted or unmuted the app's alarm on ``device_id`` (``None``:
        a browser session of no enrolled device). A muted app still shows a new alert, only
        silently, so who silenced which device and when is on the record (R19): audited
        ``device.alarm_muted`` or ``device.alarm_unmuted``. :class:`NotFound` for a device
        that is unknown, revoked or not ``user``'s."""
        async with self.store.transaction() as tx:
            if device_id is not None:
                device = await tx.devices.get(device_id)
                if device is None or device.revoked_at is not None or device.user != user:
                    raise NotFound(f"no device {device_id!r} of {user!r}")
            action = "device.alarm_muted" if muted else "device.alarm_unmuted"
            await audit.append(tx, self.clock, user, action,
                               {"user": user, **({"device": device_id} if device_id else {})},
                               None)

    async def broker_holders(self, user: str) -> list[str]:
        """Whose broker logins are ``user``'s: each enrolled device of theirs not revoked
        (a device's login outlives its sessions) and each session of no device. Read before
        the user is disabled (which deletes the sessions), deleted after by
        :meth:`revoke_broker_logins`."""
        async with self.store.transaction() as tx:
            sessions = await tx.sessions.of_user(user)
            devices = [d.id for d in await tx.devices.all()
                       if d.user == user and d.revoked_at is None]
        plain = [s.id for s in sessions if s.device_id is None]
        return sorted(set(devices) | {s.device_id for s in sessions if s.device_id}) + plain

    async def revoke_broker_logins(self, holders: list[str], user: str, actor: str) -> bool:
        """Delete the broker accounts of ``holders`` (:meth:`broker_holders`), which cuts
        their open MQTT connections, as revoking a device does. ``False`` when the broker
        could not be reached: audited ``user.mqtt_revoke_failed`` (the user stays disabled;
        disabling again retries)."""
        if self.broker is None:
            return True
        try:
            for holder in holders:
                await self.broker.revoke(holder)
        except BrokerAccountError as exc:
            async with self.store.transaction() as tx:
                await audit.append(tx, self.clock, actor, "user.mqtt_revoke_failed",
                                   {"user": user}, {"error": str(exc)[:200]})
            return False
        return True

    async def disable_user(self, accounts: Accounts, user: str, actor: str
                           ) -> dict[str, object]:
        """Disable ``user`` (:meth:`Accounts.set_enabled`: every session ends; the last
        enabled admin is refused) and delete their broker logins at once
        (:meth:`broker_holders`, :meth:`revoke_broker_logins`). Returns the details of the
        ``user.disable`` audit row the caller writes: ``sessions_ended``, and with a broker
        ``mqtt_deleted`` and ``mqtt_revoked``. The API's admin route and ``pinchpoint user
        disable`` both call this."""
        holders = await self.broker_holders(user)
        ended = await accounts.set_enabled(user, False)
        details: dict[str, object] = {"sessions_ended": ended}
        if self.broker is not None:
            revoked = await self.revoke_broker_logins(holders, user, actor)
            details |= {"mqtt_deleted": len(holders) if revoked else 0, "mqtt_revoked": revoked}
        return details

    async def statuses(self) -> list[DeviceStatus]:
        """Every device, oldest enrolment first, with its count of push subscriptions."""
        async with self.store.transaction() as tx:
            devices = await tx.devices.all()
            subs = await tx.push.all()
        push: dict[str, int] = {}
        for s in subs:
            if s.device_id is not None:
                push[s.device_id] = push.get(s.device_id, 0) + 1
        return [DeviceStatus(
            id=d.id, user=d.user, label=d.label, enrolled_by=d.enrolled_by,
            enrolled_at=d.enrolled_at, last_seen_at=d.last_seen_at, app_version=d.app_version,
            delivery=d.delivery, web_push=push.get(d.id, 0), revoked_at=d.revoked_at,
            revoked_by=d.revoked_by) for d in devices]

    async def revoke(self, device_id: str, actor: str) -> Revoked:
        """Revoke a (lost) device: its sessions end and its push subscriptions go, with the
        audit row ``device.revoke``, in one transaction; then its broker account is deleted
        (its MQTT connection cut). :class:`NotFound` for an unknown device. Revoking again
        retries the broker."""
        async with self.store.transaction() as tx:
            device = await tx.devices.get(device_id)
            if device is None:
                raise NotFound(f"no device {device_id!r}")
            ended = await tx.sessions.delete_for_device(device_id)
            pushed = await tx.push.delete_for_device(device_id)
            if device.revoked_at is None:
                device.revoked_at, device.revoked_by = self.clock.now(), actor
                await tx.devices.update(device)
            await audit.append(tx, self.clock, actor, "device.revoke",
                               {"device": device_id, "user": device.user},
                               {"sessions_ended": ended, "push_deleted": pushed})
        mqtt = True
        if self.broker is not None:
            try:
                await self.broker.revoke(device_id)
            except BrokerAccountError as exc:
                mqtt = False
                async with self.store.transaction() as tx:
                    await audit.append(tx, self.clock, actor, "device.mqtt_revoke_failed",
                                       {"device": device_id}, {"error": str(exc)[:200]})
        return Revoked(device_id=device_id, sessions_ended=ended, push_deleted=pushed,
                       mqtt_revoked=mqtt)
