"""Receipts (issue 14, R6, R19): what each enrolled officer device did with a confirmed alert.

A device says an alert was ``delivered`` (and by which path: MQTT, Web Push, the live feed),
that the officer ``opened`` it, and that the officer is ``responding`` (the other officers
then see it is taken). A receipt is accepted only

- from an enrolled device that is not revoked, in its own session (the device is the
  session's, never named by the client), of the officer the session is;
- for a confirmed watch-list alert (any other does not exist for an officer, R5) of the live
  deployment whose alerts the device takes (:attr:`DeviceRecord.deployment_id`, set by the
  server when the device got its MQTT login or reported its path);
- ``opened`` and ``responding`` only once the alert was delivered to that device.

One receipt per alert, device and kind: a replay is the first receipt again, not a second
event. Each receipt is an audit row (``alert.receipt``) committed with it, so the hash chain
covers them and the match report lists them. A receipt holds ids, a kind, a path and a time:
no image, no name of the person (R6).
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from kernel.domain import audit
from kernel.domain.alerts import load_alert
from kernel.domain.context import DomainContext
from kernel.domain.deployments import load
from kernel.domain.errors import NotFound, TransitionRefused
from kernel.domain.records import ReceiptKind, ReceiptPath, ReceiptRecord
from kernel.domain.thresholds import NotPermitted


class ReceiptRefused(NotPermitted):
    """The session may not give this receipt (no enrolled device, revoked, another
    deployment's alert): answered 403."""


class Recorded(msgspec.Struct, kw_only=True, frozen=True):
    """A receipt as stored; ``new`` false: it was a replay of one already recorded."""

    receipt: ReceiptRecord
    new: bool


class DeviceReceipts(msgspec.Struct, kw_only=True, frozen=True):
    """One device's receipts for one alert (``None``: not yet)."""

    device_id: str
    label: str
    user: str
    delivered_at: datetime | None = None
    path: ReceiptPath | None = None
    opened_at: datetime | None = None
    responding_at: datetime | None = None


class AlertReceipts(msgspec.Struct, kw_only=True, frozen=True):
    """A confirmed alert's receipts: every device taking the deployment's alerts, or that
    gave a receipt for this one; ``responding``: the officers responding (it is taken)."""

    alert_id: str
    devices: list[DeviceReceipts]
    responding: list[str]


class Receipts:
    """Recording devices' receipts and reading them per alert."""

    def __init__(self, ctx: DomainContext) -> None:
        self.ctx = ctx

    async def record(self, device_id: str | None, user: str, alert_id: str,
                     kind: ReceiptKind, path: ReceiptPath | None = None) -> Recorded:
        """Record ``kind`` for ``alert_id`` from the session's device ``device_id`` of
        ``user``. ``path``: how it arrived, for ``delivered`` (needed); the other kinds take
        the path of the delivery. :class:`ReceiptRefused` (the device), :class:`NotFound`
        (no confirmed alert), :class:`TransitionRefused` (deployment not live, not delivered
        to this device yet, a path with another kind)."""
        if device_id is None:
            raise ReceiptRefused("receipts come from enrolled devices; this session belongs "
                                 "to none")
        if (kind == "delivered") != (path is not None):
            raise TransitionRefused("a 'delivered' receipt says its path; 'opened' and "
                                    "'responding' take the delivery's")
        async with self.ctx.store.transaction() as tx:
            device = await tx.devices.get(device_id)
            if device is None or device.revoked_at is not None or device.user != user:
                raise ReceiptRefused("this device is not enrolled (or was revoked)")
            try:
                alert = await load_alert(tx, alert_id)
            except NotFound:
                alert = None
            if alert is None or alert.state != "confirmed" or alert.list != "watch":
                raise NotFound(f"no alert {alert_id}")  # R5: as for an officer's view
            if device.deployment_id != alert.deployment_id:
                raise ReceiptRefused(f"this device does not take the alerts of deployment "
                                     f"{alert.deployment_id}")
            dep = await load(tx, alert.deployment_id)
            if dep.state != "live":
                raise TransitionRefused(f"deployment {dep.id} is {dep.state}; receipts are "
                                        "taken while it is live")
            mine = {r.kind: r for r in await tx.devices.receipts(dep.id, alert_id)
                    if r.device_id == device_id}
            if kind in mine:
                return Recorded(receipt=mine[kind], new=False)
            if path is None:
                delivered = mine.get("delivered")
                if delivered is None:
                    raise TransitionRefused(f"alert {alert_id} was not delivered to this "
                                            "device")
                path = delivered.path
            rec = ReceiptRecord(alert_id=alert_id, device_id=device_id, user=user, kind=kind,
                                path=path, at=self.ctx.clock.now())
            if not await tx.devices.put_receipt(rec):  # a replay racing this one
                return Recorded(receipt=rec, new=False)
            await audit.append(tx, self.ctx.clock, user, "alert.receipt",
                               {"deployment": dep.id, "alert": alert_id, "device": device_id},
                               {"kind": kind, "path": path})
        return Recorded(receipt=rec, new=True)

    async def of_deployment(self, deployment_id: str, alert_id: str | None = None
                            ) -> list[AlertReceipts]:
        """Per confirmed watch-list alert of the deployment (or one of them), oldest first:
        each device's receipts. :class:`NotFound` for an unknown deployment."""
        async with self.ctx.store.transaction() as tx:
            await load(tx, deployment_id)
            alerts = [a for a in await tx.alerts.in_states(deployment_id, ["confirmed"])
                      if a.list == "watch" and (alert_id is None or a.id == alert_id)]
            found = await tx.devices.receipts(deployment_id, alert_id)
            devices = {d.id: d for d in await tx.devices.all()}
        taking = [d for d in devices.values()
                  if d.deployment_id == deployment_id and d.revoked_at is None]
        out = []
        for a in alerts:
            mine = [r for r in found if r.alert_id == a.id]
            ids = [d.id for d in taking] + sorted(
                {r.device_id for r in mine} - {d.id for d in taking})
            rows = []
            for dev_id in ids:
                got = {r.kind: r for r in mine if r.device_id == dev_id}
                dev = devices.get(dev_id)
                delivered = got.get("delivered")
                rows.append(DeviceReceipts(
                    device_id=dev_id, label=dev.label if dev else "",
                    user=dev.user if dev else "",
                    delivered_at=delivered.at if delivered else None,
                    path=delivered.path if delivered else None,
                    opened_at=got["opened"].at if "opened" in got else None,
                    responding_at=got["responding"].at if "responding" in got else None))
            responding = sorted({r.user for r in mine if r.kind == "responding"})
            out.append(AlertReceipts(alert_id=a.id, devices=rows, responding=responding))
        return out
