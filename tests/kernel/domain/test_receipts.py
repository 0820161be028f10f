"""Receipts of officers' devices (issue 14): recorded once per alert, device and kind (a
replay is no second event), each an ``alert.receipt`` row of the hash chain that still
verifies, listed per device and in the match report, refused for anything but the device's
own confirmed alert of the live deployment it takes, and gone with the alert on a wipe. On
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kernel.auth.devices import Devices
from kernel.clock import ManualClock
from kernel.domain.errors import NotFound, TransitionRefused
from kernel.domain.governance import Governance
from kernel.domain.receipts import ReceiptRefused
from kernel.domain.records import AuditRecord, UserRecord
from tests.kernel.domain.test_governance_safeguards import _live


@pytest.fixture(params=["sqlite", "postgres"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def _device(gov: Governance, clock: ManualClock, officer: str,
                  deployment_id: str | None) -> str:
    """An enrolled device of ``officer`` taking ``deployment_id``'s alerts."""
    async with gov.store.transaction() as tx:
        if await tx.accounts.get(officer) is None:
            await tx.accounts.insert(UserRecord(
                name=officer, role="officer", password_hash="x", enabled=True,
                created_at=clock.now(), created_by="admin", password_changed_at=clock.now()))
    devices = Devices(gov.store, clock)
    issued = await devices.issue_code(officer, "Tablet", "admin")
    done = await devices.enrol(issued.code, "test", "client")
    if deployment_id is not None:
        assert await devices.report(done.device.id, "mqtt", None, deployment_id)
    return done.device.id


async def test_receipts_are_idempotent_audited_and_reported(gov: Governance,
                                                            clock: ManualClock) -> None:
    dep, ids = await _live(gov, clock)
    alert = await gov.alerts.create_candidate(dep, ids["a"], "cam", 0.8, clock.now(),
                                              b"FACE", b"TORSO")
    await gov.alerts.confirm(alert.id, "op")
    one = await _device(gov, clock, "pc1", dep)
    two = await _device(gov, clock, "pc2", dep)
    receipts = gov.receipts

    first = await receipts.record(one, "pc1", alert.id, "delivered", "mqtt")
    clock.advance(timedelta(seconds=2))
    again = await receipts.record(one, "pc1", alert.id, "delivered", "mqtt")
    assert first.new and not again.new and again.receipt == first.receipt
    opened = await receipts.record(one, "pc1", alert.id, "opened")
    assert opened.new and opened.receipt.path == "mqtt"  # the delivery's path
    assert not (await receipts.record(one, "pc1", alert.id, "opened")).new
    clock.advance(timedelta(seconds=1))
    await receipts.record(one, "pc1", alert.id, "responding")
    clock.advance(timedelta(seconds=1))
    await receipts.record(two, "pc2", alert.id, "delivered", "feed")

    async with gov.store.transaction() as tx:
        rows = [r for r in await tx.audit.page(0, 1000) if r.action == "alert.receipt"]
    assert [(r.subjects["device"], r.details["kind"]) for r in rows] == [
        (one, "delivered"), (one, "opened"), (one, "responding"), (two, "delivered")]
    assert all(r.subjects == {"deployment": dep, "alert": alert.id, "device": r.subjects[
        "device"]} and set(r.details) == {"kind", "path"} for r in rows)  # ids only (R6)
    assert (await gov.verify_audit()).ok

    [view] = await receipts.of_deployment(dep)
    assert view.alert_id == alert.id and view.responding == ["pc1"]
    by_dev = {d.device_id: d for d in view.devices}
    assert by_dev[one].path == "mqtt" and by_dev[one].opened_at and by_dev[one].responding_at
    assert by_dev[two].path == "feed" and by_dev[two].opened_at is None

    [row] = [r for r in await gov.reports.match_report(dep, "cmd") if r.alert_id == alert.id]
    assert [(r.device_id, r.kind, r.path) for r in row.receipts] == [
        (one, "delivered", "mqtt"), (one, "opened", "mqtt"), (one, "responding", "mqtt"),
        (two, "delivered", "feed")]
    assert f"{one} responding mqtt" in gov.reports.to_csv([row])

    # gone with the alert: a wipe leaves no receipt, and the chain still verifies
    await gov.retention.wipe(dep, "cmd")
    async with gov.store.transaction() as tx:
        assert await tx.devices.receipts(dep) == []
    assert (await gov.verify_audit()).ok


async def test_receipts_refused_record_nothing(gov: Governance, clock: ManualClock) -> None:
    dep, ids = await _live(gov, clock)
    other, other_ids = await _live(gov, clock)
    confirmed = await gov.alerts.create_candidate(dep, ids["a"], "cam", 0.8, clock.now(),
                                                  b"FACE", b"TORSO")
    await gov.alerts.confirm(confirmed.id, "op")
    candidate = await gov.alerts.create_candidate(dep, ids["b"], "cam", 0.8, clock.now(),
                                                  b"FACE", b"TORSO")
    elsewhere = await gov.alerts.create_candidate(other, other_ids["a"], "cam", 0.8,
                                                  clock.now(), b"FACE", b"TORSO")
    await gov.alerts.confirm(elsewhere.id, "op")
    mine = await _device(gov, clock, "pc1", dep)
    unbound = await _device(gov, clock, "pc2", None)
    receipts = gov.receipts
    async with gov.store.transaction() as tx:
        before = (await tx.audit.last())
    with pytest.raises(ReceiptRefused):  # a plain browser session: no device
        await receipts.record(None, "pc1", confirmed.id, "delivered", "feed")
    with pytest.raises(ReceiptRefused):  # another officer's device
        await receipts.record(mine, "pc2", confirmed.id, "delivered", "feed")
    with pytest.raises(ReceiptRefused):  # a device that takes no deployment's alerts
        await receipts.record(unbound, "pc2", confirmed.id, "delivered", "feed")
    with pytest.raises(ReceiptRefused):  # another deployment's alert
        await receipts.record(mine, "pc1", elsewhere.id, "delivered", "feed")
    with pytest.raises(NotFound):  # R5: an unconfirmed alert does not exist for it
        await receipts.record(mine, "pc1", candidate.id, "delivered", "feed")
    with pytest.raises(NotFound):
        await receipts.record(mine, "pc1", "nope", "delivered", "feed")
    with pytest.raises(TransitionRefused):  # not delivered to this device yet
        await receipts.record(mine, "pc1", confirmed.id, "opened")
    with pytest.raises(TransitionRefused):  # a delivery says its path
        await receipts.record(mine, "pc1", confirmed.id, "delivered")
    await Devices(gov.store, clock).revoke(mine, "admin")
    with pytest.raises(ReceiptRefused):
        await receipts.record(mine, "pc1", confirmed.id, "delivered", "feed")
    async with gov.store.transaction() as tx:
        assert await tx.devices.receipts(dep) == []
        last = await tx.audit.last()
    assert before is not None and last is not None
    assert [a for a in [r.action for r in await _rows_after(gov, before.seq)]
            if a == "alert.receipt"] == []


async def test_an_ended_deployment_takes_no_receipt(gov: Governance, clock: ManualClock) -> None:
    dep, ids = await _live(gov, clock)
    alert = await gov.alerts.create_candidate(dep, ids["a"], "cam", 0.8, clock.now(),
                                              b"FACE", b"TORSO")
    await gov.alerts.confirm(alert.id, "op")
    mine = await _device(gov, clock, "pc1", dep)
    await gov.deployments.end(dep, "cmd")
    with pytest.raises(TransitionRefused):
        await gov.receipts.record(mine, "pc1", alert.id, "delivered", "feed")
    with pytest.raises(TransitionRefused):  # nor can a device take an ended one's alerts
        await Devices(gov.store, clock).report(mine, None, None, dep)


async def _rows_after(gov: Governance, seq: int) -> list[AuditRecord]:
    async with gov.store.transaction() as tx:
        return await tx.audit.page(seq, 1000)
